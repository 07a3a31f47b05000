import { beijingDate, beijingDay, isBillDate, previousBeijingDate } from './bill-date';

describe('bill dates', () => {
  it('places an instant in its Beijing day, eight hours ahead of UTC', () => {
    expect(beijingDate(Date.parse('2026-11-30T15:59:59.999Z'))).toBe('20261130');
    expect(beijingDate(Date.parse('2026-11-30T16:00:00.000Z'))).toBe('20261201');
  });

  it('spans a Beijing day from its midnight to the next', () => {
    expect(beijingDay('20261201')).toEqual({
      from: Date.parse('2026-11-30T16:00:00Z'),
      to: Date.parse('2026-12-01T16:00:00Z'),
    });
  });

  it('accepts real calendar dates written yyyyMMdd only', () => {
    expect(isBillDate('20240229')).toBe(true);
    for (const bad of [
      '20230229',
      '20241341',
      '2024-01-01',
      '2024011',
      '202401011',
      'abcdefgh',
      '',
    ])
      expect(isBillDate(bad)).toBe(false);
  });

  it('gives yesterday in Beijing, whatever the UTC date', () => {
    expect(previousBeijingDate(Date.parse('2026-12-01T02:00:00Z'))).toBe('20261130');
    expect(previousBeijingDate(Date.parse('2026-11-30T17:00:00Z'))).toBe('20261130');
  });
});
