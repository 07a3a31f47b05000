/**
 * Every real timer the simulator starts (notification retries, fault delays) goes through here,
 * so stop() can clear them all and a test runner exits cleanly.
 */
export class TimerRegistry {
  private readonly pending = new Set<NodeJS.Timeout>();
  private stopped = false;

  /** Runs `run` after `ms`; the returned function cancels it. */
  after(ms: number, run: () => void): () => void {
    if (this.stopped) return () => undefined;
    const handle = setTimeout(
      () => {
        this.pending.delete(handle);
        run();
      },
      Math.max(0, ms),
    );
    this.pending.add(handle);
    return () => {
      clearTimeout(handle);
      this.pending.delete(handle);
    };
  }

  /** Resolves after `ms`, or never once the registry is cleared (the work it guarded is abandoned). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.after(ms, resolve);
    });
  }

  clearAll(): void {
    this.stopped = true;
    for (const handle of this.pending) clearTimeout(handle);
    this.pending.clear();
  }
}
