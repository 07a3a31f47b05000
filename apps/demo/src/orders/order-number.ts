import { randomInt } from 'node:crypto';
import { formatBeijingTime } from 'nestjs-wechat-pay-v2/protocol';

const SUFFIXES = 10 ** 10;

/**
 * `yyyyMMddHHmmss` (Beijing) + 10 random digits: 24 characters of the allowed out_trade_no
 * alphabet, sortable by time, and unguessable enough that order numbers reveal nothing.
 */
export function newOrderNo(now: number): string {
  return formatBeijingTime(new Date(now)) + String(randomInt(SUFFIXES)).padStart(10, '0');
}
