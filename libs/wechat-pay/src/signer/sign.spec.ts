import { createHash } from 'node:crypto';
import { vectors } from '../../../../test/fixtures/vectors';
import { WechatPayRequestError } from '../errors/errors';
import {
  canonicalString,
  createNonce,
  resolveSignType,
  sign,
  signaturesEqual,
  verify,
} from './sign';

const KEY = '192006250b4c09247ec02edce69f6a2d';

describe('sign: known-answer vectors', () => {
  it('loads every vector of the fixture file', () => {
    expect(vectors.sign.length).toBe(6);
    expect(vectors.paySign.length).toBe(2);
  });

  it.each(vectors.sign.map((v) => [v.name, v] as const))('reproduces "%s"', (_name, vector) => {
    expect(sign(vector.params, vector.key, vector.signType)).toBe(vector.sign);
    expect(
      verify({ ...vector.params, sign: vector.sign }, vector.key, { fallback: vector.signType }),
    ).toBe(true);
    if (vector.stringToSign) {
      expect(`${canonicalString(vector.params)}&key=${vector.key}`).toBe(vector.stringToSign);
    }
  });

  it.each(vectors.paySign.map((v) => [v.name, v] as const))(
    'reproduces the paySign of "%s" with the generic signer',
    (_name, vector) => {
      expect(sign(vector.params, vector.key, vector.params.signType)).toBe(vector.paySign);
    },
  );
});

describe('canonicalString', () => {
  it('sorts names by ASCII byte order, so upper case comes before lower case', () => {
    expect(canonicalString({ b: '1', a: '2', B: '3', appId: '4', appid: '5' })).toBe(
      'B=3&a=2&appId=4&appid=5&b=1',
    );
  });

  it('leaves out sign and empty, null or undefined values but keeps "0"', () => {
    expect(
      canonicalString({
        sign: 'X',
        attach: '',
        detail: undefined,
        goods_tag: null,
        coupon_fee: '0',
        a: 'v',
      }),
    ).toBe('a=v&coupon_fee=0');
  });

  it('keeps sign_type as an ordinary signed field when present', () => {
    expect(canonicalString({ nonce_str: 'n', sign_type: 'HMAC-SHA256' })).toBe(
      'nonce_str=n&sign_type=HMAC-SHA256',
    );
    const without = sign({ nonce_str: 'n' }, KEY, 'MD5');
    const withType = sign({ nonce_str: 'n', sign_type: 'MD5' }, KEY, 'MD5');
    expect(withType).not.toBe(without);
  });

  it('uses raw values: no URL-encoding, no XML escaping, Chinese as UTF-8 text', () => {
    const value = 'a&b=c+d <e> "f" ]]> 腾讯充值';
    expect(canonicalString({ attach: value })).toBe(`attach=${value}`);
  });

  it('writes integers as their decimal text and refuses floats', () => {
    expect(canonicalString({ total_fee: 88 })).toBe('total_fee=88');
    expect(sign({ total_fee: 88 }, KEY, 'MD5')).toBe(sign({ total_fee: '88' }, KEY, 'MD5'));
    expect(() => canonicalString({ total_fee: 0.1 + 0.2 })).toThrow(/safe integer/);
  });

  it('refuses a non-integer number with a request error naming the parameter', () => {
    for (const value of [0.5, Number.NaN, Infinity, 2 ** 53]) {
      let caught: unknown;
      try {
        sign({ total_fee: value }, KEY, 'MD5');
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(WechatPayRequestError);
      expect(caught).toMatchObject({ code: 'REQUEST_INVALID', field: 'total_fee' });
    }
  });
});

describe('sign and verify', () => {
  const params = { appid: 'wxd930ea5d5a258f4f', body: '测试 & <test>', nonce_str: 'abc' };

  it('produces 32 upper-case hex characters for MD5 and 64 for HMAC-SHA256', () => {
    expect(sign(params, KEY, 'MD5')).toMatch(/^[0-9A-F]{32}$/);
    expect(sign(params, KEY, 'HMAC-SHA256')).toMatch(/^[0-9A-F]{64}$/);
  });

  it('signs Chinese text as UTF-8 bytes', () => {
    const expected = createHash('md5')
      .update(Buffer.from(`body=中文&key=${KEY}`, 'utf8'))
      .digest('hex')
      .toUpperCase();
    expect(sign({ body: '中文' }, KEY, 'MD5')).toBe(expected);
  });

  it('rejects a signature after any field changes, including one the verifier does not know', () => {
    const signed = {
      ...params,
      coupon_fee_0: '10',
      sign: sign({ ...params, coupon_fee_0: '10' }, KEY, 'MD5'),
    };
    expect(verify(signed, KEY, { fallback: 'MD5' })).toBe(true);
    expect(verify({ ...signed, coupon_fee_0: '11' }, KEY, { fallback: 'MD5' })).toBe(false);
    expect(verify({ ...signed, sub_mch_id: '1' }, KEY, { fallback: 'MD5' })).toBe(false);
    const typedSubset: Record<string, string> = { ...signed };
    delete typedSubset.coupon_fee_0;
    expect(verify(typedSubset, KEY, { fallback: 'MD5' })).toBe(false);
  });

  it('rejects a missing or empty signature, a lower-case one and another key', () => {
    const good = sign(params, KEY, 'MD5');
    expect(verify(params, KEY, { fallback: 'MD5' })).toBe(false);
    expect(verify({ ...params, sign: '' }, KEY, { fallback: 'MD5' })).toBe(false);
    expect(verify({ ...params, sign: good.toLowerCase() }, KEY, { fallback: 'MD5' })).toBe(false);
    expect(verify({ ...params, sign: good }, 'x'.repeat(32), { fallback: 'MD5' })).toBe(false);
  });

  it('takes the algorithm from sign_type before the configured one', () => {
    const p = { ...params, sign_type: 'MD5' };
    const s = sign(p, KEY, 'MD5');
    expect(verify({ ...p, sign: s }, KEY, { fallback: 'HMAC-SHA256' })).toBe(true);
  });

  it('treats a 64-character signature without sign_type as HMAC-SHA256 even when MD5 is configured', () => {
    const s = sign(params, KEY, 'HMAC-SHA256');
    expect(verify({ ...params, sign: s }, KEY, { fallback: 'MD5' })).toBe(true);
  });

  it('treats a 32-character signature without sign_type as MD5 even when HMAC-SHA256 is configured', () => {
    const s = sign(params, KEY, 'MD5');
    expect(verify({ ...params, sign: s }, KEY, { fallback: 'MD5' })).toBe(true);
    expect(verify({ ...params, sign: s }, KEY, { fallback: 'HMAC-SHA256' })).toBe(true);
    expect(verify({ ...params, sign: s }, 'x'.repeat(32), { fallback: 'HMAC-SHA256' })).toBe(false);
  });

  it('uses the configured type for a signature of any other length (which then fails)', () => {
    expect(resolveSignType({ sign: 'ABC' }, 'HMAC-SHA256')).toBe('HMAC-SHA256');
    expect(verify({ ...params, sign: 'ABC' }, KEY, { fallback: 'MD5' })).toBe(false);
  });

  it('fails a 32-character signature that claims HMAC-SHA256 and an unknown sign_type', () => {
    const md5 = sign({ ...params, sign_type: 'HMAC-SHA256' }, KEY, 'MD5');
    expect(
      verify({ ...params, sign_type: 'HMAC-SHA256', sign: md5 }, KEY, { fallback: 'MD5' }),
    ).toBe(false);
    const weird = { ...params, sign_type: 'SHA1' };
    expect(verify({ ...weird, sign: sign(weird, KEY, 'MD5') }, KEY, { fallback: 'MD5' })).toBe(
      false,
    );
  });

  it('pins the algorithm when the caller expects one (responses follow their request)', () => {
    const md5 = sign(params, KEY, 'MD5');
    expect(
      verify({ ...params, sign: md5 }, KEY, { fallback: 'MD5', expected: 'HMAC-SHA256' }),
    ).toBe(false);
    expect(
      verify({ ...params, sign: md5 }, KEY, { fallback: 'HMAC-SHA256', expected: 'MD5' }),
    ).toBe(true);
  });
});

describe('resolveSignType', () => {
  it('reports the declared, inferred or configured algorithm', () => {
    expect(resolveSignType({ sign_type: 'HMAC-SHA256', sign: 'A'.repeat(32) }, 'MD5')).toBe(
      'HMAC-SHA256',
    );
    expect(resolveSignType({ sign: 'A'.repeat(64) }, 'MD5')).toBe('HMAC-SHA256');
    expect(resolveSignType({ sign: 'A'.repeat(32) }, 'HMAC-SHA256')).toBe('MD5');
    expect(resolveSignType({ sign_type: 'RSA' }, 'MD5')).toBeUndefined();
  });
});

describe('signaturesEqual', () => {
  it('compares exactly and tolerates different lengths', () => {
    expect(signaturesEqual('ABC', 'ABC')).toBe(true);
    expect(signaturesEqual('ABC', 'ABD')).toBe(false);
    expect(signaturesEqual('ABC', 'ABCD')).toBe(false);
  });
});

describe('createNonce', () => {
  it('makes 32 alphanumeric characters by default, and distinct values', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const n = createNonce();
      expect(n).toMatch(/^[A-Za-z0-9]{32}$/);
      seen.add(n);
    }
    expect(seen.size).toBe(1000);
    expect(createNonce(16)).toHaveLength(16);
  });

  it('draws from crypto, never Math.random', () => {
    const spy = jest.spyOn(Math, 'random');
    createNonce();
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });
});
