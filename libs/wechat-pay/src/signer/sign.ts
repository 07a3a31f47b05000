import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { WechatPayRequestError } from '../errors/errors';

export const SIGN_TYPES = ['MD5', 'HMAC-SHA256'] as const;
export type SignType = (typeof SIGN_TYPES)[number];

/** A parameter map as it is signed: absent, null and empty values are left out. */
export type SignableParams = Readonly<Record<string, string | number | null | undefined>>;

export function isSignType(value: unknown): value is SignType {
  return value === 'MD5' || value === 'HMAC-SHA256';
}

function valueText(name: string, value: string | number): string {
  if (typeof value === 'number') {
    // A float would be signed as e.g. "88.5" while WeChat expects integer fen: refuse it here, loudly.
    if (!Number.isSafeInteger(value)) {
      throw new WechatPayRequestError(name, 'must be a safe integer when given as a number');
    }
    return String(value);
  }
  return value;
}

/**
 * The string that is signed, without the `&key=` suffix: every non-empty parameter except `sign`,
 * sorted by ASCII byte order of the name, joined as raw `name=value` pairs (no URL-encoding).
 */
export function canonicalString(params: SignableParams): string {
  let out = '';
  // Parameter names are ASCII, so UTF-16 code unit order (the default sort) is ASCII byte order.
  for (const name of Object.keys(params).sort()) {
    if (name === 'sign') continue;
    const value = params[name];
    if (value === undefined || value === null || value === '') continue;
    out += (out === '' ? '' : '&') + name + '=' + valueText(name, value);
  }
  return out;
}

/** Signs the canonical string plus `&key=<apiKey>` and returns upper-case hex. */
export function signString(canonical: string, apiKey: string, signType: SignType): string {
  const message = canonical === '' ? `key=${apiKey}` : `${canonical}&key=${apiKey}`;
  const digest =
    signType === 'MD5'
      ? createHash('md5').update(message, 'utf8').digest('hex')
      : createHmac('sha256', apiKey).update(message, 'utf8').digest('hex');
  return digest.toUpperCase();
}

export function sign(params: SignableParams, apiKey: string, signType: SignType): string {
  return signString(canonicalString(params), apiKey, signType);
}

/** Constant-time comparison of two signatures; differing lengths are simply unequal. */
export function signaturesEqual(expected: string, received: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(received, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The algorithm a received message was signed with: its own `sign_type` when present. Without
 * one, the signature's length decides where it can (64 hex characters can only be HMAC-SHA256, 32
 * only MD5), and the configured type otherwise. Inferring MD5 matters: an order placed with MD5 by
 * a merchant configured for HMAC-SHA256 gets notifications with no `sign_type`, and verifying
 * those with the configured type would refuse every one of them. Both algorithms are keyed, so
 * letting the message pick between them gives a forger nothing.
 * Returns undefined for a `sign_type` value that is not a known algorithm.
 */
export function resolveSignType(params: SignableParams, fallback: SignType): SignType | undefined {
  const declared = params.sign_type;
  if (declared !== undefined && declared !== null && declared !== '') {
    return isSignType(declared) ? declared : undefined;
  }
  const signature = params.sign;
  if (typeof signature === 'string' && signature.length === 64) return 'HMAC-SHA256';
  if (typeof signature === 'string' && signature.length === 32) return 'MD5';
  return fallback;
}

/**
 * Verifies `params.sign` over every other non-empty field of `params`. `expected`, when given,
 * pins the algorithm (a response is signed with the algorithm its request declared).
 */
export function verify(
  params: SignableParams,
  apiKey: string,
  options: { fallback: SignType; expected?: SignType },
): boolean {
  const received = params.sign;
  if (typeof received !== 'string' || received === '') return false;
  const signType = options.expected ?? resolveSignType(params, options.fallback);
  if (signType === undefined) return false;
  return signaturesEqual(sign(params, apiKey, signType), received);
}

const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A random alphanumeric nonce (default 32 characters, the field's maximum) from the CSPRNG. */
export function createNonce(length = 32): string {
  // 62 symbols: reject bytes >= 248 (4 * 62) so every symbol is equally likely.
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += NONCE_ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}
