import { randomInt } from 'node:crypto';
import { formatBeijingTime } from 'nestjs-wechat-pay-v2/protocol';

const SUFFIXES = 10 ** 10;

/**
 * Our out_refund_no: `R` + `yyyyMMddHHmmss` (Beijing) + 10 random digits, 25 characters of the
 * allowed alphabet (1-64 of `0-9 A-Z a-z _ - | * @`). Chosen once, when the refund row is written,
 * and sent unchanged on every retry: WeChat keys a refund on it.
 */
export function newRefundNo(now: number): string {
  return `R${formatBeijingTime(new Date(now))}${String(randomInt(SUFFIXES)).padStart(10, '0')}`;
}
