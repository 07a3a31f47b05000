import { SimulatorClock } from './clock';

describe('SimulatorClock', () => {
  it('follows the wall clock until it is advanced', () => {
    let wall = 1_000;
    const clock = new SimulatorClock(() => wall);
    expect(clock.now()).toBe(1_000);
    wall = 1_500;
    expect(clock.now()).toBe(1_500);
    expect(clock.date().getTime()).toBe(1_500);
  });

  it('keeps an advance on top of the wall clock', () => {
    let wall = 1_000;
    const clock = new SimulatorClock(() => wall);
    expect(clock.advance(60_000)).toBe(61_000);
    wall = 2_000;
    expect(clock.now()).toBe(62_000);
  });

  it('refuses to move backwards or by a non-number', () => {
    const clock = new SimulatorClock(() => 0);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(clock.now()).toBe(0);
  });
});
