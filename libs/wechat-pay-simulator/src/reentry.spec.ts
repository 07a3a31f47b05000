import { sameOrderParameters } from './reentry';

const FIRST = {
  appid: 'wx0000000000000001',
  mch_id: '1900000109',
  nonce_str: 'aaaa',
  sign: 'AAAA',
  body: 'Coffee',
  out_trade_no: 'order_0001',
  total_fee: '100',
  spbill_create_ip: '127.0.0.1',
  notify_url: 'https://example.com/notify',
  trade_type: 'JSAPI',
  openid: 'o123',
};

describe('sameOrderParameters', () => {
  it('ignores the nonce, the signature, the caller IP and the sign type', () => {
    const again = {
      ...FIRST,
      nonce_str: 'bbbb',
      sign: 'BBBB',
      spbill_create_ip: '10.0.0.9',
      sign_type: 'HMAC-SHA256',
    };
    expect(sameOrderParameters(FIRST, again)).toBe(true);
  });

  it('treats an empty field as an absent one', () => {
    expect(sameOrderParameters(FIRST, { ...FIRST, attach: '' })).toBe(true);
  });

  it.each([
    ['a changed amount', { total_fee: '101' }],
    ['a changed body', { body: 'Tea' }],
    ['an added optional field', { attach: 'x' }],
    ['an added time_expire', { time_expire: '20300101000000' }],
  ])('sees %s as a different order', (_label, change) => {
    expect(sameOrderParameters(FIRST, { ...FIRST, ...change })).toBe(false);
  });

  it('sees a removed optional field as a different order', () => {
    const without: Record<string, string> = { ...FIRST };
    delete without.openid;
    expect(sameOrderParameters(FIRST, without)).toBe(false);
  });
});
