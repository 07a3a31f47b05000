import { resolveWechatPayConfig } from '../config/wechat-pay.options';
import { WechatPayRequestError } from '../errors/errors';
import { isSignType, sign, type SignType } from '../signer/sign';
import { WechatPaySigner } from '../signer/signer.service';
import { buildPayParams as buildWithSigner, type PayParamsInput } from './pay-params';

import { vectors as allVectors } from '../../../../test/fixtures/vectors';

const vectors = allVectors.paySign;

const KEY = 'qazwsxedcrfvtgbyhnujmikolp111111';
const base = {
  appId: 'wxd678efh567hg6787',
  prepayId: 'wx2017033010242291fcfe0db70013231072',
  apiKey: KEY,
  signType: 'MD5' as SignType,
  timeStamp: '1490840662',
  nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
};

/** Builds through a signer holding `apiKey`, as the gateway does with the configured key. */
function buildPayParams({ apiKey, ...input }: PayParamsInput & { apiKey: string }) {
  const config = resolveWechatPayConfig({ appId: 'wxd678efh567hg6787', mchId: '1', apiKey });
  return buildWithSigner(input, new WechatPaySigner(config));
}

/** The field a WechatPayRequestError names, or undefined when nothing was refused. */
function refusedField(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof WechatPayRequestError) return error.field;
    throw error;
  }
  return undefined;
}

describe('buildPayParams', () => {
  it('has two paySign vectors to check', () => {
    expect(vectors).toHaveLength(2);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('reproduces the %s vector', (_name, vector) => {
    const { params } = vector;
    if (!isSignType(params.signType)) throw new Error(`bad vector sign type ${params.signType}`);
    const result = buildPayParams({
      appId: params.appId,
      prepayId: params.package.replace(/^prepay_id=/, ''),
      apiKey: vector.key,
      signType: params.signType,
      timeStamp: params.timeStamp,
      nonceStr: params.nonceStr,
    });
    expect(result).toEqual({
      timeStamp: params.timeStamp,
      nonceStr: params.nonceStr,
      package: params.package,
      signType: params.signType,
      paySign: vector.paySign,
    });
  });

  it('stamps the current time as a 10-digit string of seconds and a fresh 32-character nonce', () => {
    const before = Math.floor(Date.now() / 1000);
    const result = buildPayParams({
      appId: base.appId,
      prepayId: base.prepayId,
      apiKey: KEY,
      signType: 'HMAC-SHA256',
    });
    const after = Math.floor(Date.now() / 1000);
    expect(typeof result.timeStamp).toBe('string');
    expect(result.timeStamp).toMatch(/^\d{10}$/);
    expect(Number(result.timeStamp)).toBeGreaterThanOrEqual(before);
    expect(Number(result.timeStamp)).toBeLessThanOrEqual(after);
    expect(result.nonceStr).toMatch(/^[0-9A-Za-z]{32}$/);
    expect(result.paySign).toMatch(/^[0-9A-F]{64}$/);
  });

  it('signs exactly appId, nonceStr, package, signType and timeStamp', () => {
    const result = buildPayParams(base);
    const expected = sign(
      {
        appId: base.appId,
        nonceStr: base.nonceStr,
        package: `prepay_id=${base.prepayId}`,
        signType: 'MD5',
        timeStamp: base.timeStamp,
      },
      KEY,
      'MD5',
    );
    expect(result.paySign).toBe(expected);
  });

  it.each([
    ['appId', { appId: 'wxd678efh567hg6788' }],
    ['nonceStr', { nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VT' }],
    ['package', { prepayId: 'wx2017033010242291fcfe0db70013231073' }],
    ['signType', { signType: 'HMAC-SHA256' as SignType }],
    ['timeStamp', { timeStamp: '1490840663' }],
  ])('changes paySign when %s changes', (_field, change) => {
    expect(buildPayParams({ ...base, ...change }).paySign).not.toBe(buildPayParams(base).paySign);
  });

  it('does not sign fields beyond the five, such as the prepay_id alone or the mch_id', () => {
    const withExtra = sign(
      {
        appId: base.appId,
        nonceStr: base.nonceStr,
        package: `prepay_id=${base.prepayId}`,
        signType: 'MD5',
        timeStamp: base.timeStamp,
        mch_id: '10000100',
      },
      KEY,
      'MD5',
    );
    const result = buildPayParams(base);
    expect(result.paySign).not.toBe(withExtra);
    expect(Object.keys(result).sort()).toEqual([
      'nonceStr',
      'package',
      'paySign',
      'signType',
      'timeStamp',
    ]);
  });

  it.each([
    ['an empty prepayId', 'prepayId', { prepayId: '' }],
    ['a prepayId with whitespace inside', 'prepayId', { prepayId: 'wx2017 0330' }],
    ['a prepayId over 64 characters', 'prepayId', { prepayId: 'w'.repeat(65) }],
    ['an unknown signType', 'signType', { signType: 'RSA' as SignType }],
    ['a timeStamp that is not digits of seconds', 'timeStamp', { timeStamp: '1490840662000x' }],
    ['a nonceStr with a space', 'nonceStr', { nonceStr: 'has space' }],
    ['an empty appId', 'appId', { appId: '' }],
  ])('refuses %s and names the field', (_case, field, change) => {
    expect(refusedField(() => buildPayParams({ ...base, ...change }))).toBe(field);
  });

  it('accepts a prepay_id of exactly 64 characters', () => {
    expect(buildPayParams({ ...base, prepayId: 'w'.repeat(64) }).package).toBe(
      `prepay_id=${'w'.repeat(64)}`,
    );
  });
});
