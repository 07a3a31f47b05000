import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import * as forge from 'node-forge';
import { WechatPayConfigError } from '../errors/errors';

/**
 * The merchant's API certificate (WeChat's `apiclient_cert.p12`, or the `apiclient_cert.pem` +
 * `apiclient_key.pem` pair of the same download), read and checked once at start-up into a TLS
 * secure context for the `/secapi/` endpoints. The certificate and its key never leave this
 * module as text: callers get the secure context (which prints as an empty object) and public
 * facts about the certificate.
 */

/** Public facts about the loaded certificate: nothing here is secret. */
export interface MerchantCertificateInfo {
  /** How it was configured. */
  source: 'p12' | 'pem';
  /** The p12 file's path when it was given as a path (used in the conversion hint). */
  file?: string;
  /** Hex serial number, as the merchant platform shows it. */
  serialNumber: string;
  subject: string;
  validFrom: Date;
  validTo: Date;
  fingerprint256: string;
  /**
   * True for a p12 encrypted with RC2-40/3DES (WeChat's older downloads), which OpenSSL 3 does
   * not read without its legacy provider: it was read with node-forge instead.
   */
  legacyEncryption: boolean;
}

export interface CertificateSource {
  certP12?: unknown;
  certPassphrase?: unknown;
  certPem?: unknown;
  keyPem?: unknown;
}

export interface LoadedCertificate {
  info: MerchantCertificateInfo;
  /** cert + key (+ the trusted CAs), for the keep-alive agent of the certificate endpoints. */
  context: tls.SecureContext;
}

const DOWNLOAD_HINT =
  'download the API certificate again from the merchant platform (pay.weixin.qq.com, ' +
  'Account Center > API Security / 账户中心 > API安全)';

function configError(field: string, problem: string): WechatPayConfigError {
  return new WechatPayConfigError([{ field, problems: [problem] }]);
}

/** A Buffer is the content; a string is PEM text when `pem` allows it and it looks like PEM, else a path. */
function readSource(value: unknown, field: string, pem: boolean): { data: Buffer; file?: string } {
  if (Buffer.isBuffer(value)) return { data: value };
  if (value instanceof Uint8Array) return { data: Buffer.from(value) };
  if (typeof value !== 'string' || value === '') {
    throw configError(field, `must be a file path${pem ? ', PEM text' : ''} or a Buffer`);
  }
  if (pem && value.includes('-----BEGIN ')) return { data: Buffer.from(value, 'utf8') };
  try {
    return { data: readFileSync(value), file: value };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw configError(field, `the file could not be read (${code})`);
  }
}

/** The PEM certificate blocks of a text, each checked by Node's X.509 parser. */
function pemCertificates(text: string, field: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (blocks === null) throw configError(field, 'is not a PEM certificate (no CERTIFICATE block)');
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw configError(field, 'holds a CERTIFICATE block that is not a valid X.509 certificate');
    }
  });
}

/** Extra CAs to trust for the WeChat hosts (a standalone simulator's CA, say). */
export function loadCaCertificates(value: unknown): string[] {
  const { data } = readSource(value, 'caCert', true);
  return pemCertificates(data.toString('utf8'), 'caCert').map((cert) => cert.toString());
}

/** The commands that turn a legacy p12 into the PEM pair, which every OpenSSL reads. */
export function legacyConversionCommands(file = 'apiclient_cert.p12'): string {
  const input = /^[\w./-]+$/.test(file) ? file : `'${file.replace(/'/g, `'\\''`)}'`;
  return (
    `openssl pkcs12 -legacy -in ${input} -clcerts -nokeys -out apiclient_cert.pem && ` +
    `openssl pkcs12 -legacy -in ${input} -nocerts -nodes -out apiclient_key.pem`
  );
}

interface Identity {
  certificates: X509Certificate[];
  key: KeyObject;
}

/** Reads a PKCS#12 with node-forge, which implements every PKCS#12 cipher WeChat has used. */
function decodeWithForge(pfx: Buffer, passphrase: string, legacy: boolean): Identity {
  const cannotRead = (problem: string) =>
    configError(
      'certP12',
      legacy
        ? `${problem}; convert it to PEM (${legacyConversionCommands()}) and set certPem and keyPem`
        : problem,
    );
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(pfx.toString('binary')));
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, true, passphrase);
  } catch (error) {
    if (/MAC could not be verified|Invalid password/i.test(String((error as Error).message))) {
      throw wrongPassphrase();
    }
    throw cannotRead('is a PKCS#12 file node-forge cannot read');
  }
  const oids = forge.pki.oids;
  const bags = (type: string) => p12.getBags({ bagType: type })[type] ?? [];
  const certificates = bags(oids.certBag).map((bag) => {
    const der = bag.cert
      ? forge.asn1.toDer(forge.pki.certificateToAsn1(bag.cert))
      : forge.asn1.toDer(bag.asn1 as forge.asn1.Asn1);
    return new X509Certificate(Buffer.from(der.getBytes(), 'binary'));
  });
  const keyBag = [...bags(oids.pkcs8ShroudedKeyBag), ...bags(oids.keyBag)][0];
  if (certificates.length === 0) throw cannotRead('holds no certificate');
  if (keyBag === undefined) throw cannotRead('holds no private key');
  const keyDer = keyBag.key
    ? forge.asn1.toDer(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(keyBag.key)))
    : forge.asn1.toDer(keyBag.asn1 as forge.asn1.Asn1);
  const key = createPrivateKey({
    key: Buffer.from(keyDer.getBytes(), 'binary'),
    format: 'der',
    type: 'pkcs8',
  });
  return { certificates, key };
}

function wrongPassphrase(): WechatPayConfigError {
  return configError(
    'certPassphrase',
    'does not open the p12 file (mac verify failure): WeChat issues it with the mch_id as ' +
      'passphrase, which is the default; set certPassphrase only if you changed it',
  );
}

function loadP12(
  value: unknown,
  passphrase: string,
): Identity & { file?: string; legacy: boolean } {
  const { data, file } = readSource(value, 'certP12', false);
  let legacy = false;
  try {
    tls.createSecureContext({ pfx: data, passphrase });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (/mac verify failure/i.test(message)) throw wrongPassphrase();
    if (code === 'ERR_CRYPTO_UNSUPPORTED_OPERATION' || /unsupported/i.test(message)) {
      // RC2-40 (OpenSSL 1.x's default, and older WeChat downloads): OpenSSL 3 refuses it unless
      // its legacy provider is loaded. node-forge reads it; the start-up log says how to convert.
      legacy = true;
    } else {
      throw configError(
        'certP12',
        'is not a PKCS#12 (.p12) file; for apiclient_cert.pem and apiclient_key.pem use certPem and keyPem',
      );
    }
  }
  return { ...decodeWithForge(data, passphrase, legacy), file, legacy };
}

function loadPem(certPem: unknown, keyPem: unknown, passphrase: string | undefined): Identity {
  const certificates = pemCertificates(
    readSource(certPem, 'certPem', true).data.toString('utf8'),
    'certPem',
  );
  const keyText = readSource(keyPem, 'keyPem', true).data;
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: keyText, format: 'pem', passphrase });
  } catch (error) {
    const message = String((error as Error).message);
    throw configError(
      'keyPem',
      /passphrase|bad decrypt/i.test(message)
        ? 'is an encrypted private key that certPassphrase does not open'
        : 'is not a PEM private key',
    );
  }
  if (key.type !== 'private') throw configError('keyPem', 'is not a PEM private key');
  return { certificates, key };
}

/**
 * Loads and checks the merchant certificate: readable, the passphrase right, a certificate whose
 * key is the one given, valid now, and accepted by the running OpenSSL as a TLS client identity.
 * Each failure is a WechatPayConfigError saying what to do; none repeats the certificate, the key
 * or the passphrase.
 */
export function loadMerchantCertificate(
  source: CertificateSource,
  mchId: string,
  ca: readonly string[] | undefined,
  now: Date = new Date(),
): LoadedCertificate {
  if (source.certPassphrase !== undefined && typeof source.certPassphrase !== 'string') {
    throw configError('certPassphrase', 'must be a string');
  }
  const passphrase = source.certPassphrase as string | undefined;
  let identity: Identity & { file?: string; legacy?: boolean };
  let kind: 'p12' | 'pem';
  if (source.certP12 !== undefined) {
    if (source.certPem !== undefined || source.keyPem !== undefined) {
      throw configError('certP12', 'give either certP12 or certPem and keyPem, not both');
    }
    identity = loadP12(source.certP12, passphrase ?? mchId);
    kind = 'p12';
  } else {
    if (source.certPem === undefined) throw configError('certPem', 'keyPem needs certPem');
    if (source.keyPem === undefined) throw configError('keyPem', 'certPem needs keyPem');
    identity = loadPem(source.certPem, source.keyPem, passphrase);
    kind = 'pem';
  }

  const field = kind === 'p12' ? 'certP12' : 'certPem';
  const leaf = identity.certificates.find((cert) => cert.checkPrivateKey(identity.key));
  if (leaf === undefined) {
    throw configError(
      field,
      kind === 'p12'
        ? 'holds no certificate for its private key'
        : 'is not the certificate of keyPem (the key does not match): use the pair from one download',
    );
  }
  const validFrom = new Date(leaf.validFrom);
  const validTo = new Date(leaf.validTo);
  if (validTo.getTime() <= now.getTime()) {
    throw configError(field, `expired on ${validTo.toISOString()}: ${DOWNLOAD_HINT}`);
  }
  if (validFrom.getTime() > now.getTime()) {
    throw configError(
      field,
      `is not valid before ${validFrom.toISOString()}: check this machine's clock`,
    );
  }

  const chain = identity.certificates.filter((cert) => cert !== leaf).map((c) => c.toString());
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext({
      cert: [leaf.toString(), ...chain].join('\n'),
      key: identity.key.export({ type: 'pkcs8', format: 'pem' }),
      ...(ca !== undefined ? { ca: [...tls.rootCertificates, ...ca] } : {}),
    });
  } catch (error) {
    const reason = String((error as Error).message).replace(/^error:[0-9A-F]+:/i, '');
    throw configError(field, `is refused by OpenSSL as a TLS client certificate (${reason})`);
  }
  return {
    info: {
      source: kind,
      ...(identity.file !== undefined ? { file: identity.file } : {}),
      serialNumber: leaf.serialNumber,
      subject: leaf.subject,
      validFrom,
      validTo,
      fingerprint256: leaf.fingerprint256,
      legacyEncryption: identity.legacy === true,
    },
    context,
  };
}

/** A context trusting the extra CAs besides Node's bundled roots, for the other endpoints. */
export function caContext(ca: readonly string[]): tls.SecureContext {
  return tls.createSecureContext({ ca: [...tls.rootCertificates, ...ca] });
}

/** Whole days from `now` until the certificate expires (0 on its last day). */
export function daysUntilExpiry(info: MerchantCertificateInfo, now: Date = new Date()): number {
  return Math.floor((info.validTo.getTime() - now.getTime()) / 86_400_000);
}
