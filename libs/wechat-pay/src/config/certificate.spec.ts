import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { inspect } from 'node:util';
import { Logger } from '@nestjs/common';
import { CertificateFiles, TestCa, type Pem } from '../../../../test/fixtures/certificates';
import { WechatPayConfigError } from '../errors/errors';
import { WechatPayTransport } from '../gateway/transport';
import { legacyConversionCommands, loadMerchantCertificate } from './certificate';
import { resolveWechatPayConfig } from './wechat-pay.options';

const MCH_ID = '1900000109';
const BASE = {
  appId: 'wxd930ea5d5a258f4f',
  mchId: MCH_ID,
  apiKey: '192006250b4c09247ec02edce69f6a2d',
  baseUrl: 'https://127.0.0.1:9',
};
const DAY_MS = 86_400_000;

function configError(run: () => unknown): WechatPayConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof WechatPayConfigError) return error;
    throw error;
  }
  throw new Error('expected a WechatPayConfigError');
}

/** The base64 body of a PEM block, which must never appear anywhere it could be read. */
function pemBody(pem: string): string {
  return pem.split('\n').slice(1, 3).join('');
}

describe('the merchant certificate', () => {
  const files = new CertificateFiles();
  const ca = new TestCa();
  let merchant: Pem;
  let p12: string;
  let legacyP12: string;

  beforeAll(() => {
    merchant = ca.merchant(MCH_ID);
    p12 = files.p12('apiclient_cert.p12', merchant, MCH_ID);
    legacyP12 = files.p12('legacy_apiclient_cert.p12', merchant, MCH_ID, true);
  });

  afterAll(() => files.remove());

  it('loads a p12 from its path with the mch_id as the default passphrase', () => {
    const config = resolveWechatPayConfig({ ...BASE, certP12: p12 });
    expect(config.certificate).toMatchObject({
      source: 'p12',
      file: p12,
      legacyEncryption: false,
      subject: expect.stringContaining(`CN=${MCH_ID}`),
    });
    expect(config.certificate?.validTo.getTime()).toBeGreaterThan(Date.now() + 300 * DAY_MS);
  });

  it('loads a p12 from a Buffer, and one with a passphrase of its own', () => {
    const custom = files.p12('custom.p12', merchant, 'my-own-passphrase');
    expect(resolveWechatPayConfig({ ...BASE, certP12: files.read(p12) }).certificate?.source).toBe(
      'p12',
    );
    expect(
      resolveWechatPayConfig({ ...BASE, certP12: custom, certPassphrase: 'my-own-passphrase' })
        .certificate?.serialNumber,
    ).toMatch(/^[0-9A-F]+$/);
  });

  it('loads a PEM pair from paths, from PEM text and from Buffers', () => {
    const certPath = files.write('apiclient_cert.pem', merchant.cert);
    const keyPath = files.write('apiclient_key.pem', merchant.key);
    for (const [certPem, keyPem] of [
      [certPath, keyPath],
      [merchant.cert, merchant.key],
      [Buffer.from(merchant.cert), Buffer.from(merchant.key)],
    ]) {
      expect(resolveWechatPayConfig({ ...BASE, certPem, keyPem }).certificate?.source).toBe('pem');
    }
  });

  it('stops start-up on a wrong passphrase, saying the default is the mch_id', () => {
    const error = configError(() =>
      resolveWechatPayConfig({ ...BASE, certP12: p12, certPassphrase: 'wrong-one' }),
    );
    expect(error.fields[0].field).toBe('certPassphrase');
    expect(error.message).toContain('mac verify failure');
    expect(error.message).toContain('mch_id as passphrase');
    expect(error.message).not.toContain('wrong-one');
  });

  it.each<[string, () => Record<string, unknown>, string, RegExp]>([
    [
      'a PEM file given as the p12',
      () => ({ certP12: files.write('cert-as-p12.pem', merchant.cert) }),
      'certP12',
      /is not a PKCS#12 \(\.p12\) file; for apiclient_cert\.pem and apiclient_key\.pem use certPem and keyPem/,
    ],
    [
      'a text file given as the p12',
      () => ({ certP12: files.write('notes.txt', 'not a certificate at all') }),
      'certP12',
      /is not a PKCS#12/,
    ],
    [
      'a missing p12 file',
      () => ({ certP12: `${files.dir}/missing.p12` }),
      'certP12',
      /the file could not be read \(ENOENT\)/,
    ],
    [
      'the key file given as the certificate',
      () => ({ certPem: merchant.key, keyPem: merchant.key }),
      'certPem',
      /is not a PEM certificate/,
    ],
    [
      'a certificate given as the key',
      () => ({ certPem: merchant.cert, keyPem: merchant.cert }),
      'keyPem',
      /is not a PEM private key/,
    ],
    [
      'a certificate block that is not X.509',
      () => ({
        certPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
        keyPem: merchant.key,
      }),
      'certPem',
      /not a valid X\.509 certificate/,
    ],
    [
      'a certificate without its key',
      () => ({ certPem: merchant.cert }),
      'keyPem',
      /certPem needs keyPem/,
    ],
    [
      'a p12 and a PEM pair together',
      () => ({ certP12: p12, certPem: merchant.cert, keyPem: merchant.key }),
      'certP12',
      /either certP12 or certPem and keyPem/,
    ],
    [
      'an extra CA that is not a certificate',
      () => ({ caCert: 'hello' }),
      'caCert',
      /the file could not be read/,
    ],
  ])('stops start-up on %s', (_case, options, field, message) => {
    const error = configError(() => resolveWechatPayConfig({ ...BASE, ...options() }));
    expect(error.fields[0].field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('stops start-up when the certificate is not the one of the key', () => {
    const other = ca.merchant(MCH_ID);
    const error = configError(() =>
      resolveWechatPayConfig({ ...BASE, certPem: merchant.cert, keyPem: other.key }),
    );
    expect(error.fields[0].field).toBe('certPem');
    expect(error.message).toContain('the key does not match');
  });

  it('stops start-up on an expired certificate, p12 or PEM, saying where to get a new one', () => {
    const expired = ca.merchant(MCH_ID, {
      notBefore: new Date(Date.now() - 400 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    });
    const expiredP12 = files.p12('expired.p12', expired, MCH_ID);
    for (const options of [
      { certP12: expiredP12 },
      { certPem: expired.cert, keyPem: expired.key },
    ]) {
      const error = configError(() => resolveWechatPayConfig({ ...BASE, ...options }));
      expect(error.message).toMatch(/expired on \d{4}-\d{2}-\d{2}T/);
      expect(error.message).toContain('merchant platform');
    }
  });

  it('stops start-up on a certificate not valid yet', () => {
    const future = ca.merchant(MCH_ID, { notBefore: new Date(Date.now() + 10 * DAY_MS) });
    const error = configError(() =>
      resolveWechatPayConfig({ ...BASE, certPem: future.cert, keyPem: future.key }),
    );
    expect(error.message).toContain("check this machine's clock");
  });

  it('needs an https host for the certificate endpoints', () => {
    const error = configError(() =>
      resolveWechatPayConfig({ ...BASE, baseUrl: 'http://127.0.0.1:9', certP12: p12 }),
    );
    expect(error.fields[0].field).toBe('baseUrl');
    expect(
      resolveWechatPayConfig({
        ...BASE,
        baseUrl: 'http://127.0.0.1:9',
        secapiBaseUrl: 'https://127.0.0.1:10',
        certP12: p12,
      }).secapiBaseUrl,
    ).toBe('https://127.0.0.1:10');
  });

  describe('a legacy (RC2-40/3DES) p12, as older WeChat downloads are', () => {
    it('is one that the running OpenSSL really refuses', () => {
      expect(files.p12Info(legacyP12, MCH_ID, true)).toMatch(/pbeWithSHA1And40BitRC2-CBC/);
      expect(() =>
        tls.createSecureContext({ pfx: files.read(legacyP12), passphrase: MCH_ID }),
      ).toThrow(expect.objectContaining({ code: 'ERR_CRYPTO_UNSUPPORTED_OPERATION' }));
      expect(() =>
        tls.createSecureContext({ pfx: files.read(p12), passphrase: MCH_ID }),
      ).not.toThrow();
    });

    it('is read anyway with node-forge, into a TLS identity the running OpenSSL uses', () => {
      const loaded = loadMerchantCertificate({ certP12: legacyP12 }, MCH_ID, undefined);
      expect(loaded.info.legacyEncryption).toBe(true);
      expect(loaded.info.subject).toContain(`CN=${MCH_ID}`);
      expect(inspect(loaded.context)).toMatch(/^SecureContext/);
      const modern = loadMerchantCertificate({ certP12: p12 }, MCH_ID, undefined);
      expect(loaded.info.fingerprint256).toBe(modern.info.fingerprint256);
    });

    it('still refuses a wrong passphrase', () => {
      const error = configError(() =>
        resolveWechatPayConfig({ ...BASE, certP12: legacyP12, certPassphrase: 'nope' }),
      );
      expect(error.fields[0].field).toBe('certPassphrase');
    });

    it('makes the start-up log say how to convert it, with the file it was read from', () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
      const transport = new WechatPayTransport(
        resolveWechatPayConfig({ ...BASE, certP12: legacyP12 }),
      );
      try {
        transport.onModuleInit();
        expect(warn).toHaveBeenCalledWith(
          expect.stringContaining(legacyConversionCommands(legacyP12)),
        );
        expect(legacyConversionCommands(legacyP12)).toBe(
          `openssl pkcs12 -legacy -in ${legacyP12} -clcerts -nokeys -out apiclient_cert.pem && ` +
            `openssl pkcs12 -legacy -in ${legacyP12} -nocerts -nodes -out apiclient_key.pem`,
        );
      } finally {
        transport.onModuleDestroy();
        jest.restoreAllMocks();
      }
    });
  });

  it('shows in the package README the very commands the legacy warning gives, and where to download', () => {
    const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
    for (const command of legacyConversionCommands().split(' && ')) {
      expect(readme).toContain(`\n${command}\n`);
    }
    expect(readme).toMatch(/账户中心[^\n]*→ API安全[^\n]*→\s*API证书/);
  });

  it('warns in the log certExpiryWarningDays before expiry, and not before', () => {
    const soon = ca.merchant(MCH_ID, { notAfter: new Date(Date.now() + 20 * DAY_MS + 3_600_000) });
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const make = (days?: number) =>
      new WechatPayTransport(
        resolveWechatPayConfig({
          ...BASE,
          certPem: soon.cert,
          keyPem: soon.key,
          ...(days !== undefined ? { certExpiryWarningDays: days } : {}),
        }),
      );
    const byDefault = make();
    const later = make(10);
    try {
      expect(byDefault.checkExpiry()).toBe(20);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toMatch(/expires on .*, in 20 day\(s\): download a new one/);
      expect(later.checkExpiry()).toBe(20);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(log).toHaveBeenCalledWith(expect.stringMatching(/is valid until/));
      expect(later.checkExpiry(new Date(Date.now() + 15 * DAY_MS))).toBe(5);
      expect(warn).toHaveBeenCalledTimes(2);
      later.checkExpiry(new Date(Date.now() + 30 * DAY_MS));
      expect(error).toHaveBeenCalledWith(expect.stringMatching(/expired on .*: refunds fail/));
    } finally {
      byDefault.onModuleDestroy();
      later.onModuleDestroy();
      jest.restoreAllMocks();
    }
  });

  it('says nothing secret when start-up stops on a missing, wrong-passphrase, expired or legacy p12', () => {
    const passphrase = 'SECRET-PASS-4711';
    const expired = ca.merchant(MCH_ID, {
      notBefore: new Date(Date.now() - 400 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    });
    const modern = files.p12('secret-modern.p12', merchant, passphrase);
    const legacy = files.p12('secret-legacy.p12', merchant, passphrase, true);
    const old = files.p12('secret-expired.p12', expired, passphrase);
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ certP12: `${files.dir}/missing.p12` }, 'certP12', /could not be read \(ENOENT\)/],
      [{ certP12: modern, certPassphrase: 'WRONG-SECRET-1' }, 'certPassphrase', /mac verify/],
      [{ certP12: legacy, certPassphrase: 'WRONG-SECRET-2' }, 'certPassphrase', /passphrase/],
      [{ certP12: old, certPassphrase: passphrase }, 'certP12', /expired on/],
      [{ certPem: expired.cert, keyPem: expired.key }, 'certPem', /expired on/],
    ];
    const secrets = [
      passphrase,
      'WRONG-SECRET-1',
      'WRONG-SECRET-2',
      BASE.apiKey,
      pemBody(merchant.key),
      pemBody(expired.key),
      pemBody(expired.cert),
    ];
    for (const [options, field, message] of cases) {
      const error = configError(() => resolveWechatPayConfig({ ...BASE, ...options }));
      expect(error.fields[0].field).toBe(field);
      expect(error.message).toMatch(message);
      for (const secret of secrets) {
        expect(error.message).not.toContain(secret);
        expect(inspect(error, { depth: 10 })).not.toContain(secret);
        expect(JSON.stringify(error)).not.toContain(secret);
      }
    }
    // The legacy file with its right passphrase starts, and says how to convert it, secret-free.
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const transport = new WechatPayTransport(
      resolveWechatPayConfig({ ...BASE, certP12: legacy, certPassphrase: passphrase }),
    );
    try {
      transport.onModuleInit();
      const logged = warn.mock.calls.map((call) => String(call[0])).join('\n');
      expect(logged).toContain(`openssl pkcs12 -legacy -in ${legacy}`);
      for (const secret of secrets) expect(logged).not.toContain(secret);
    } finally {
      transport.onModuleDestroy();
      jest.restoreAllMocks();
    }
  });

  it('keeps the certificate, its key and the passphrase out of JSON, inspect output and errors', () => {
    const custom = files.p12('secret-pass.p12', merchant, 'TOP-SECRET-PASSPHRASE');
    const configs = [
      resolveWechatPayConfig({ ...BASE, certP12: custom, certPassphrase: 'TOP-SECRET-PASSPHRASE' }),
      resolveWechatPayConfig({ ...BASE, certPem: merchant.cert, keyPem: merchant.key }),
    ];
    const secrets = [pemBody(merchant.key), pemBody(merchant.cert), 'TOP-SECRET-PASSPHRASE'];
    for (const config of configs) {
      const transport = new WechatPayTransport(config);
      const outputs = [
        JSON.stringify(config),
        inspect(config, { depth: 10, showHidden: true }),
        inspect(transport, { depth: 10, showHidden: true }),
      ];
      transport.onModuleDestroy();
      for (const output of outputs) {
        for (const secret of secrets) expect(output).not.toContain(secret);
      }
    }
    const failures = [
      configError(() =>
        resolveWechatPayConfig({ ...BASE, certP12: custom, certPassphrase: 'TOP-SECRET-WRONG' }),
      ),
      configError(() =>
        resolveWechatPayConfig({ ...BASE, certPem: merchant.key, keyPem: merchant.cert }),
      ),
    ];
    for (const failure of failures) {
      for (const secret of [...secrets, 'TOP-SECRET-WRONG']) {
        expect(failure.message).not.toContain(secret);
        expect(inspect(failure)).not.toContain(secret);
      }
    }
  });
});
