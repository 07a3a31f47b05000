import { WechatPayProtocolError, WechatPayRequestError } from '../errors/errors';
import { verify } from '../signer/sign';
import { parseXml } from '../xml/xml-codec';
import { decryptReqInfo } from '../refund/req-info';
import { WechatPayDecryptionError } from '../errors/errors';
import { buildPaymentNotification, buildRefundNotification, parseNotifyReply } from './index';

const MERCHANT = {
  appId: 'wx1234567890abcdef',
  mchId: '1900000109',
  apiKey: 'k3y0123456789abcdefghijklmnopqrs',
};

describe('buildPaymentNotification', () => {
  it('produces an MD5-signed body without sign_type whose XML carries exactly its fields', async () => {
    const { xml, fields } = buildPaymentNotification({ ...MERCHANT, totalFee: 88 });
    expect(fields.sign_type).toBeUndefined();
    expect(fields.sign).toMatch(/^[0-9A-F]{32}$/);
    expect(verify(fields, MERCHANT.apiKey, { fallback: 'MD5', expected: 'MD5' })).toBe(true);
    expect(await parseXml(xml)).toEqual(fields);
    expect(fields).toMatchObject({
      return_code: 'SUCCESS',
      result_code: 'SUCCESS',
      appid: MERCHANT.appId,
      mch_id: MERCHANT.mchId,
      total_fee: '88',
      cash_fee: '88',
      trade_type: 'JSAPI',
    });
    for (const name of ['nonce_str', 'openid', 'bank_type', 'transaction_id', 'out_trade_no']) {
      expect(fields[name]).toEqual(expect.any(String));
    }
    expect(fields.time_end).toMatch(/^\d{14}$/);
  });

  it('includes sign_type and signs with HMAC-SHA256 for an HMAC-SHA256 order', () => {
    const { fields } = buildPaymentNotification({ ...MERCHANT, signType: 'HMAC-SHA256' });
    expect(fields.sign_type).toBe('HMAC-SHA256');
    expect(fields.sign).toMatch(/^[0-9A-F]{64}$/);
    expect(verify(fields, MERCHANT.apiKey, { fallback: 'MD5' })).toBe(true);
  });

  it('lets includeSignType override the default either way', () => {
    const hmac = buildPaymentNotification({
      ...MERCHANT,
      signType: 'HMAC-SHA256',
      includeSignType: false,
    });
    expect(hmac.fields.sign_type).toBeUndefined();
    expect(verify(hmac.fields, MERCHANT.apiKey, { fallback: 'HMAC-SHA256' })).toBe(true);
    const md5 = buildPaymentNotification({ ...MERCHANT, includeSignType: true });
    expect(md5.fields.sign_type).toBe('MD5');
    expect(verify(md5.fields, MERCHANT.apiKey, { fallback: 'HMAC-SHA256' })).toBe(true);
  });

  it('signs over added fields and leaves out removed ones', () => {
    const { fields } = buildPaymentNotification({
      ...MERCHANT,
      fields: { coupon_fee_0: 10, is_subscribe: undefined, fee_type: null },
    });
    expect(fields.coupon_fee_0).toBe('10');
    expect(fields).not.toHaveProperty('is_subscribe');
    expect(fields).not.toHaveProperty('fee_type');
    expect(verify(fields, MERCHANT.apiKey, { fallback: 'MD5' })).toBe(true);
  });

  it('applies afterSigning changes without re-signing, so the result no longer verifies', () => {
    const { fields } = buildPaymentNotification({
      ...MERCHANT,
      afterSigning: { total_fee: 100000 },
    });
    expect(fields.total_fee).toBe('100000');
    expect(verify(fields, MERCHANT.apiKey, { fallback: 'MD5' })).toBe(false);
  });

  it('uses a given sign verbatim and leaves sign out when it is null', () => {
    expect(buildPaymentNotification({ ...MERCHANT, sign: 'ABC' }).fields.sign).toBe('ABC');
    const unsigned = buildPaymentNotification({ ...MERCHANT, sign: null });
    expect(unsigned.fields).not.toHaveProperty('sign');
    expect(unsigned.xml).not.toContain('<sign>');
  });

  it('writes a Date timeEnd as Beijing time', () => {
    const { fields } = buildPaymentNotification({
      ...MERCHANT,
      timeEnd: new Date('2024-03-05T04:01:02Z'),
    });
    expect(fields.time_end).toBe('20240305120102');
  });

  it('gives each notification its own order number by default', () => {
    const a = buildPaymentNotification(MERCHANT).fields.out_trade_no;
    const b = buildPaymentNotification(MERCHANT).fields.out_trade_no;
    expect(a).not.toBe(b);
    expect(a.length).toBeLessThanOrEqual(32);
  });

  it.each([1.5, -1, Number.MAX_SAFE_INTEGER + 1])('refuses a totalFee of %p fen', (totalFee) => {
    expect(() => buildPaymentNotification({ ...MERCHANT, totalFee })).toThrow(
      WechatPayRequestError,
    );
  });
});

describe('parseNotifyReply', () => {
  it('reads return_code and return_msg', async () => {
    await expect(
      parseNotifyReply(
        '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[invalid sign]]></return_msg></xml>',
      ),
    ).resolves.toEqual({ returnCode: 'FAIL', returnMsg: 'invalid sign' });
  });

  it('accepts a reply without return_msg', async () => {
    await expect(
      parseNotifyReply('<xml><return_code>SUCCESS</return_code></xml>'),
    ).resolves.toEqual({
      returnCode: 'SUCCESS',
    });
  });

  it('rejects a body that is not a reply', async () => {
    await expect(parseNotifyReply('<xml><foo>1</foo></xml>')).rejects.toThrow('no return_code');
    await expect(parseNotifyReply('<xml><foo>1</foo></xml>')).rejects.toBeInstanceOf(
      WechatPayProtocolError,
    );
    await expect(parseNotifyReply('OK')).rejects.toThrow();
  });
});

describe('buildRefundNotification', () => {
  it('encrypts a <root> document with the merchant key and sends no sign, as WeChat does', async () => {
    const built = buildRefundNotification({
      ...MERCHANT,
      outRefundNo: 'R-1',
      totalFee: 500,
      refundFee: 200,
      successTime: new Date('2024-03-01T04:00:05Z'),
    });
    const outer = await parseXml(built.xml);
    expect(Object.keys(outer).sort()).toEqual([
      'appid',
      'mch_id',
      'nonce_str',
      'req_info',
      'return_code',
    ]);
    const plaintext = decryptReqInfo(outer.req_info, MERCHANT.apiKey);
    expect(plaintext).toBe(built.plaintext);
    expect(await parseXml(plaintext, { root: 'root' })).toMatchObject({
      out_refund_no: 'R-1',
      total_fee: '500',
      refund_fee: '200',
      refund_status: 'SUCCESS',
      success_time: '2024-03-01 12:00:05',
      refund_recv_accout: '支付用户零钱',
    });
  });

  it('leaves success_time out of a CHANGE, and builds a forgery with another key', () => {
    const change = buildRefundNotification({ ...MERCHANT, refundStatus: 'CHANGE' });
    expect(change.reqInfoFields).not.toHaveProperty('success_time');
    // Fixed inputs, so the ciphertext (and whether its padding happens to check out) is fixed.
    const forged = buildRefundNotification({
      ...MERCHANT,
      outRefundNo: 'R-FORGED',
      outTradeNo: 'O-FORGED',
      successTime: '2024-03-01 12:00:05',
      encryptWithKey: 'f'.repeat(32),
    });
    expect(() => decryptReqInfo(forged.fields.req_info, MERCHANT.apiKey)).toThrow(
      WechatPayDecryptionError,
    );
  });

  it('refuses amounts that are not integer fen', () => {
    expect(() => buildRefundNotification({ ...MERCHANT, refundFee: 1.5 })).toThrow(
      WechatPayRequestError,
    );
  });
});
