/**
 * Bill dates are Beijing calendar days, `yyyyMMdd`, as WeChat names them (§10). China has kept
 * UTC+8 without daylight saving since 1991, so a day is a fixed 24-hour span of epoch time.
 */
const BEIJING_OFFSET_MS = 8 * 3600 * 1000;
export const DAY_MS = 24 * 3600 * 1000;

const BILL_DATE = /^(\d{4})(\d{2})(\d{2})$/;

/** The Beijing date of an instant (epoch ms). */
export function beijingDate(ms: number): string {
  return new Date(ms + BEIJING_OFFSET_MS).toISOString().slice(0, 10).replace(/-/g, '');
}

/** The instant a Beijing date starts; undefined for text that is not a real calendar date. */
export function beijingDayStart(date: string): number | undefined {
  const m = BILL_DATE.exec(date);
  if (!m) return undefined;
  const start = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - BEIJING_OFFSET_MS;
  return beijingDate(start) === date ? start : undefined;
}

/** Whether `date` is a real calendar date written `yyyyMMdd`. */
export function isBillDate(date: string): boolean {
  return beijingDayStart(date) !== undefined;
}

/** The span [from, to) of epoch ms that a Beijing date covers. */
export function beijingDay(date: string): { from: number; to: number } {
  const from = beijingDayStart(date);
  if (from === undefined) throw new RangeError(`not a bill date: ${date}`);
  return { from, to: from + DAY_MS };
}

/** The Beijing day before the one `now` falls in: the bill a daily run reconciles. */
export function previousBeijingDate(now: number): string {
  return beijingDate(now - DAY_MS);
}
