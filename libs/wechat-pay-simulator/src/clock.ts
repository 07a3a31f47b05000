/**
 * The simulator's one source of time. It runs with the wall clock but can be moved forward, so a
 * test can expire prepay ids, orders and login codes without waiting. Every time decision in the
 * simulator reads `now()`; nothing calls Date.now() directly.
 */
export class SimulatorClock {
  private offsetMs = 0;

  constructor(private readonly wallClock: () => number = Date.now) {}

  now(): number {
    return this.wallClock() + this.offsetMs;
  }

  date(): Date {
    return new Date(this.now());
  }

  /** Moves the clock forward; moving it back would let expired things come alive again. */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError('advanceMs must be a non-negative number of milliseconds');
    }
    this.offsetMs += ms;
    return this.now();
  }
}
