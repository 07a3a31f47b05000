import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { createNonce, formatBeijingTime } from 'nestjs-wechat-pay-v2/protocol';

// Every identifier the simulator hands out comes from the CSPRNG: real ones are unguessable too.

function randomDigits(count: number): string {
  let out = '';
  for (let i = 0; i < count; i += 1) out += String(randomInt(10));
  return out;
}

/** `wx` + Beijing `yyyyMMddHHmmss` + 20 hex digits: 36 characters, the shape of real prepay ids. */
export function newPrepayId(at: Date): string {
  return `wx${formatBeijingTime(at)}${randomBytes(10).toString('hex')}`;
}

/** 28 digits: `42000` + 5 digits + Beijing `yyyyMMdd` + 10 digits, the shape of real transaction ids. */
export function newTransactionId(at: Date): string {
  return `42000${randomDigits(5)}${formatBeijingTime(at).slice(0, 8)}${randomDigits(10)}`;
}

/** A `wx.login` code: 32 random alphanumerics. */
export function newLoginCode(): string {
  return createNonce(32);
}

/** A session key is the base64 text of 16 random bytes (24 characters). */
export function newSessionKey(): string {
  return randomBytes(16).toString('base64');
}

/** The request id WeChat appends to login error messages. */
export function newRequestId(): string {
  const hex = randomBytes(12).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 16)}-${hex.slice(16)}`;
}

/** A fresh opaque user identity for a login that names no user. */
export function newUserId(): string {
  return randomBytes(12).toString('hex');
}

// A fixed label rather than a per-run secret, so a user keeps the same openid across restarts of a
// standalone simulator (the demo app's database outlives the simulator process).
const OPENID_LABEL = 'wechat-pay-simulator/openid/v1';

/**
 * The openid of `user` under `appId`: `o` + 27 base64url characters of an HMAC over both, so one
 * user always gets the same openid under one AppID and a different one under another AppID.
 */
export function deriveOpenid(appId: string, user: string): string {
  const digest = createHmac('sha256', OPENID_LABEL).update(`${appId}\n${user}`, 'utf8').digest();
  return `o${digest.toString('base64url').slice(0, 27)}`;
}

/** A coupon id: 10 random digits. */
export function newCouponId(): string {
  return randomDigits(10);
}

/**
 * 29 digits: `50` + 8 digits + Beijing `yyyyMMdd` + 11 digits, the shape of real refund ids
 * (`50000404922017112502468056157`, `50300604212020051600550537447` in published answers).
 */
export function newRefundId(at: Date): string {
  return `50${randomDigits(8)}${formatBeijingTime(at).slice(0, 8)}${randomDigits(11)}`;
}
