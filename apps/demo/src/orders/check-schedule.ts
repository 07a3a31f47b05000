/**
 * When the reconciler asks orderquery about an unpaid order, after WeChat's own guidance (query at
 * 5 s, 30 s, 1 min, 3 min, 5 min, 10 min and 30 min after creation), then every 30 minutes until it
 * expires. Offsets are from the order's creation. The schedule belongs to the order (its
 * next_check_at column): checkout writes the first check, the reconciler the later ones.
 */
const CHECK_OFFSETS_MS = [5_000, 30_000, 60_000, 180_000, 300_000, 600_000, 1_800_000];
const LATER_INTERVAL_MS = 1_800_000;

export function firstCheckDelay(): number {
  return CHECK_OFFSETS_MS[0];
}

/**
 * A close WeChat refused for now (its 5-minute rule answers SYSTEMERROR) or could not be asked is
 * tried again this much later; a cancel brings the next check no later than that.
 */
export const CLOSE_RETRY_MS = 60_000;

/**
 * The next check after `attempts` checks, failed ones included (so errors back off too); never
 * earlier than a second from now, and never later than just after the order expires, when it has
 * to be closed. Past expiry the order is waiting to be closed, so a failed check (SYSTEMERROR, a
 * timeout) comes back within CLOSE_RETRY_MS rather than at the next slot of the creation schedule,
 * which can be half an hour or more away.
 */
export function nextCheckAt(
  order: { createdAt: number; expiresAt: number },
  attempts: number,
  now: number,
): number {
  const last = CHECK_OFFSETS_MS.length - 1;
  const offset =
    attempts <= last
      ? CHECK_OFFSETS_MS[attempts]
      : CHECK_OFFSETS_MS[last] + (attempts - last) * LATER_INTERVAL_MS;
  const scheduled = order.createdAt + offset;
  const atExpiry = order.expiresAt + 1_000;
  const latest = now < order.expiresAt ? atExpiry : now + CLOSE_RETRY_MS;
  return Math.max(now + 1_000, Math.min(scheduled, latest));
}
