/**
 * A reconciler pass is bounded by its lease with per-call timeouts (no lease renewal): every
 * WeChat call of the pass gets a read timeout that ends before the pass's deadline, and no call
 * starts once too little time is left. Orders not reached keep their lease and come due again when
 * it ends. Renewal would need a write per order while WeChat is slow; timeouts need none.
 */

/** Time kept back at the end of the lease for the database writes that follow the last call. */
export function leaseMargin(leaseMs: number): number {
  return Math.min(5_000, Math.floor(leaseMs / 5));
}

/** A call that could not even wait this long for an answer is not worth starting. */
export const MIN_CALL_MS = 500;

export class LeaseBudget {
  readonly deadline: number;

  constructor(
    claimedAt: number,
    leaseMs: number,
    private readonly connectTimeoutMs: number,
    private readonly readTimeoutMs: number,
  ) {
    this.deadline = claimedAt + leaseMs - leaseMargin(leaseMs);
  }

  /**
   * The read timeout for a call started now, or undefined when none fits: the connect phase may
   * take its whole timeout before the read timer starts, so both must end by the deadline.
   */
  readTimeoutAt(now: number): number | undefined {
    const left = this.deadline - now - this.connectTimeoutMs;
    if (left < MIN_CALL_MS) return undefined;
    return Math.min(this.readTimeoutMs, left);
  }
}

/** Whether a lease of this length leaves room for at least one WeChat call. */
export function leaseFitsACall(leaseMs: number, connectTimeoutMs: number): boolean {
  return leaseMs - leaseMargin(leaseMs) - connectTimeoutMs >= MIN_CALL_MS;
}
