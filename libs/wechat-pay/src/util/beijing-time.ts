/** WeChat Pay times are Beijing wall-clock time (UTC+8, no daylight saving) as `yyyyMMddHHmmss`. */
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;
const COMPACT_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;

export function formatBeijingTime(date: Date): string {
  const shifted = new Date(date.getTime() + BEIJING_OFFSET_MS);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return (
    pad(shifted.getUTCFullYear(), 4) +
    pad(shifted.getUTCMonth() + 1) +
    pad(shifted.getUTCDate()) +
    pad(shifted.getUTCHours()) +
    pad(shifted.getUTCMinutes()) +
    pad(shifted.getUTCSeconds())
  );
}

/** Parses `yyyyMMddHHmmss` (Beijing time); undefined when the text is not a real calendar time. */
export function parseBeijingTime(text: string): Date | undefined {
  const m = COMPACT_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(utc - BEIJING_OFFSET_MS);
  // Date.UTC rolls over out-of-range parts (month 13, 25 o'clock); a round trip catches that.
  return formatBeijingTime(date) === text ? date : undefined;
}

const DASHED_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
}

/**
 * Parses `yyyy-MM-dd HH:mm:ss` (Beijing time), the form of bill times, refund success times and
 * refund notifications; undefined when the text is not a real calendar time.
 */
export function parseBeijingDateTime(text: string): Date | undefined {
  const m = DASHED_TIME.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second) - BEIJING_OFFSET_MS);
}

/** The Beijing calendar date of `date` as `yyyyMMdd`, the form of bill dates. */
export function formatBeijingDate(date: Date): string {
  return formatBeijingTime(date).slice(0, 8);
}
