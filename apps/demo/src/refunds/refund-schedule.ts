/**
 * When the reconciler next looks at a refund that is not final: a PENDING one is sent again (same
 * number, same amounts), a PROCESSING one is asked about with refundquery. WeChat pays most
 * refunds back within seconds to minutes, bank cards within days, so the gaps grow to an hour
 * and stay there.
 */
export const REFUND_CHECK_GAPS_MS = [10_000, 30_000, 60_000, 5 * 60_000, 15 * 60_000, 60 * 60_000];

/** The next check of a refund after `attempts` checks (0: the first), from `now`. */
export function nextRefundCheckAt(attempts: number, now: number): number {
  const gaps = REFUND_CHECK_GAPS_MS;
  return now + gaps[Math.min(Math.max(attempts, 0), gaps.length - 1)];
}
