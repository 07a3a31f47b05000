import { vectors } from '../../../../test/fixtures/vectors';
import { WechatPayXmlError } from '../errors/errors';
import { decryptReqInfo, encryptReqInfo, parseReqInfo, refundAesKey } from './req-info';

const { refundNotifyDecrypt } = vectors;

describe('refund notification req_info', () => {
  it('has at least one vector to check', () => {
    expect(refundNotifyDecrypt.length).toBeGreaterThan(0);
  });

  it.each(refundNotifyDecrypt.map((v) => [v.name, v] as const))('decrypts "%s"', async (_n, v) => {
    expect(refundAesKey(v.apiKey).toString('latin1')).toBe(v.aesKey);
    expect(decryptReqInfo(v.reqInfo, v.apiKey)).toBe(v.plaintext);
    expect(encryptReqInfo(v.plaintext, v.apiKey)).toBe(v.reqInfo);
    await expect(parseReqInfo(v.reqInfo, v.apiKey)).resolves.toEqual({ refund_status: 'SUCCESS' });
  });

  it('refuses ciphertext under another key and ciphertext that is not whole blocks', () => {
    const [v] = refundNotifyDecrypt;
    expect(() => decryptReqInfo(v.reqInfo, 'k'.repeat(32))).toThrow(WechatPayXmlError);
    expect(() => decryptReqInfo(v.reqInfo.slice(0, 10), v.apiKey)).toThrow(
      /whole number of AES blocks/,
    );
  });
});
