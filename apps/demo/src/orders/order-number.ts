import { randomInt } from 'node:crypto';
import { formatBeijingTime } from 'nestjs-wechat-pay-v2/protocol';

/**
 * `yyyyMMddHHmmss` (Beijing) + 10 random digits: 24 characters of the allowed out_trade_no
 * alphabet, sortable by time, and unguessable enough that order numbers reveal nothing.
 */
export function newOrderNo(now: number): string {
  let suffix = '';
  for (let i = 0; i < 10; i++) suffix += String(randomInt(10));
  return formatBeijingTime(new Date(now)) + suffix;
}
