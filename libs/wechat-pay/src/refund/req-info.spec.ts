import { vectors } from '../../../../test/fixtures/vectors';
import { WechatPayDecryptionError } from '../errors/errors';
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

  it('refuses ciphertext under another key, not whole blocks or not base64 with its own error code', () => {
    const [v] = refundNotifyDecrypt;
    const attempts: Array<[string, string, RegExp]> = [
      [v.reqInfo, 'k'.repeat(32), /does not decrypt/],
      [v.reqInfo.slice(0, 12), v.apiKey, /whole number of AES blocks/],
      ['', v.apiKey, /whole number of AES blocks/],
      [`${v.reqInfo.slice(0, 20)}*${v.reqInfo.slice(21)}`, v.apiKey, /not base64/],
      [`${v.reqInfo} `, v.apiKey, /not base64/],
    ];
    for (const [reqInfo, key, message] of attempts) {
      let caught: unknown;
      try {
        decryptReqInfo(reqInfo, key);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(WechatPayDecryptionError);
      expect(caught).toMatchObject({
        code: 'DECRYPTION_FAILED',
        message: expect.stringMatching(message),
      });
    }
  });
});
