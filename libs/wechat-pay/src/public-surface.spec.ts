import * as root from './index';
import * as protocol from './protocol';
import * as testing from './testing';

/**
 * The package's entry points as a host sees them. The functions that take the API key as an
 * argument live on `nestjs-wechat-pay-v2/protocol` only: a host app signs, verifies and decrypts
 * through the module, whose signer alone reads the key.
 */
const KEYED = [
  'sign',
  'signString',
  'verify',
  'decryptReqInfo',
  'encryptReqInfo',
  'parseReqInfo',
  'refundAesKey',
] as const;
const LOW_LEVEL = ['canonicalString', 'parseXml', 'buildXml', 'buildNotifyReply'] as const;

describe('the public surface', () => {
  it('keeps every function that takes the API key, and the XML codec, off the main entry point', () => {
    for (const name of [...KEYED, ...LOW_LEVEL]) {
      expect(Object.keys(root)).not.toContain(name);
      expect(typeof (protocol as Record<string, unknown>)[name]).toBe('function');
    }
  });

  it('exports from the main entry point what a host app uses', () => {
    for (const name of [
      'WechatPayModule',
      'WechatPayGateway',
      'WechatLoginService',
      'WechatPayNotifyService',
      'WechatPayNotifyHandler',
      'WechatPayRefundHandler',
      'WechatPayConfig',
      'WechatPayError',
      'WechatPayNotifyError',
      'WechatPayDecryptionError',
      'notifyReply',
      'MAX_FEN',
    ]) {
      expect(Object.keys(root)).toContain(name);
    }
  });

  it('makes every other exported error class a WechatPayError', () => {
    const errors = Object.entries(root).filter(
      ([name, value]) =>
        typeof value === 'function' && /Error$/.test(name) && name !== 'WechatPayError',
    );
    expect(errors.length).toBeGreaterThan(5);
    for (const [, value] of errors) {
      expect((value as abstract new (...args: never[]) => unknown).prototype).toBeInstanceOf(
        root.WechatPayError,
      );
    }
  });

  it('builds signed test notifications on the testing entry point, not the main one', () => {
    expect(typeof testing.buildPaymentNotification).toBe('function');
    expect(Object.keys(root)).not.toContain('buildPaymentNotification');
  });
});
