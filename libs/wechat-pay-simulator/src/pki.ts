import { createHash, createHmac, generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { asn1, md, pkcs12, pki, rc2, util } from 'node-forge';

/**
 * The X.509 and PKCS#12 work behind the simulator's certificates: keys come from node:crypto,
 * certificates and PKCS#12 files are built with node-forge (node has no writer for either).
 */

const generateRsa = promisify(generateKeyPair);

const DAY_MS = 24 * 60 * 60 * 1000;
/** WeChat Pay issues merchant API certificates for five years. */
export const MERCHANT_CERT_DAYS = 5 * 365;
export const CA_CERT_DAYS = 20 * 365;
export const SERVER_CERT_DAYS = 365;
/** The friendly name WeChat Pay gives the key and certificate inside apiclient_cert.p12. */
export const P12_FRIENDLY_NAME = 'Tenpay Certificate';
/** OpenSSL's iteration count for PKCS#12 key derivation and MAC. */
const P12_ITERATIONS = 2048;

export interface KeyPair {
  /** PKCS#8 PEM ("BEGIN PRIVATE KEY"), the form of WeChat's apiclient_key.pem. */
  privateKeyPem: string;
  publicKeyPem: string;
}

/** A 2048-bit RSA key, the size of WeChat Pay's merchant certificates. */
export async function newRsaKey(): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateRsa('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/** A positive 128-bit serial number as hex (the top bit clear, as DER INTEGERs are signed). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  return bytes.toString('hex');
}

type Attributes = pki.CertificateField[];

interface Issuer {
  certPem: string;
  keyPem: string;
}

interface CertificateSpec {
  subject: Attributes;
  publicKeyPem: string;
  days: number;
  extensions: unknown[];
  /** Signs with its own key when absent (the CA). */
  issuer?: Issuer;
  selfKeyPem?: string;
}

function buildCertificate(spec: CertificateSpec, now: number): string {
  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(spec.publicKeyPem);
  cert.serialNumber = serialNumber();
  // Backdated a day, so a client whose clock is a little behind still accepts it.
  cert.validity.notBefore = new Date(now - DAY_MS);
  cert.validity.notAfter = new Date(now + spec.days * DAY_MS);
  cert.setSubject(spec.subject);
  const issuerCert = spec.issuer ? pki.certificateFromPem(spec.issuer.certPem) : undefined;
  cert.setIssuer(issuerCert ? issuerCert.subject.attributes : spec.subject);
  const authorityKeyId = issuerCert
    ? pki.getPublicKeyFingerprint(issuerCert.publicKey, { type: 'RSAPublicKey' }).getBytes()
    : undefined;
  cert.setExtensions([
    ...spec.extensions,
    { name: 'subjectKeyIdentifier' },
    ...(authorityKeyId ? [{ name: 'authorityKeyIdentifier', keyIdentifier: authorityKeyId }] : []),
  ]);
  const signingKeyPem = spec.issuer ? spec.issuer.keyPem : (spec.selfKeyPem as string);
  cert.sign(pki.privateKeyFromPem(signingKeyPem), md.sha256.create());
  return pki.certificateToPem(cert);
}

export function issueCa(key: KeyPair, now: number): string {
  return buildCertificate(
    {
      subject: [
        { shortName: 'C', value: 'CN' },
        { shortName: 'O', value: 'wechat-pay-v2-simulator' },
        { shortName: 'CN', value: 'WeChat Pay simulator CA' },
      ],
      publicKeyPem: key.publicKeyPem,
      days: CA_CERT_DAYS,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ],
      selfKeyPem: key.privateKeyPem,
    },
    now,
  );
}

/** A merchant's API certificate: its common name is the merchant number, as in WeChat's. */
export function issueMerchantCertificate(
  mchId: string,
  key: KeyPair,
  ca: Issuer,
  now: number,
  days = MERCHANT_CERT_DAYS,
): string {
  return buildCertificate(
    {
      subject: [
        { shortName: 'C', value: 'CN' },
        { shortName: 'O', value: 'WeChat Pay simulator merchant' },
        { shortName: 'OU', value: 'wechat-pay-v2-simulator' },
        { shortName: 'CN', value: mchId },
      ],
      publicKeyPem: key.publicKeyPem,
      days,
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', clientAuth: true },
      ],
      issuer: ca,
    },
    now,
  );
}

const isIpAddress = (host: string) => /^[\d.]+$/.test(host) || host.includes(':');

/** The TLS listener's certificate: valid for localhost, 127.0.0.1, ::1 and any extra host names. */
export function issueServerCertificate(
  hosts: readonly string[],
  key: KeyPair,
  ca: Issuer,
  now: number,
): string {
  const altNames = [...new Set(hosts)].map((host) =>
    isIpAddress(host) ? { type: 7, ip: host } : { type: 2, value: host },
  );
  return buildCertificate(
    {
      subject: [
        { shortName: 'O', value: 'wechat-pay-v2-simulator' },
        { shortName: 'CN', value: hosts[0] ?? 'localhost' },
      ],
      publicKeyPem: key.publicKeyPem,
      days: SERVER_CERT_DAYS,
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames },
      ],
      issuer: ca,
    },
    now,
  );
}

const binary = (bytes: string) => Buffer.from(bytes, 'binary');

/**
 * apiclient_cert.p12 as current tools write it: the key under PBES2 (PBKDF2, AES-256-CBC), the
 * certificate in the clear, a SHA-1 MAC; every OpenSSL 3 reads it.
 */
export function modernPkcs12(certPem: string, keyPem: string, passphrase: string): Buffer {
  const p12 = pkcs12.toPkcs12Asn1(
    pki.privateKeyFromPem(keyPem),
    pki.certificateFromPem(certPem),
    passphrase,
    { algorithm: 'aes256', count: P12_ITERATIONS, friendlyName: P12_FRIENDLY_NAME },
  );
  return binary(asn1.toDer(p12).getBytes());
}

const { Class, Type } = asn1;
const seq = (items: asn1.Asn1[]) => asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, items);
const oid = (name: string) =>
  asn1.create(Class.UNIVERSAL, Type.OID, false, asn1.oidToDer(pki.oids[name]).getBytes());
const octets = (bytes: string) => asn1.create(Class.UNIVERSAL, Type.OCTETSTRING, false, bytes);
const integer = (n: number) =>
  asn1.create(Class.UNIVERSAL, Type.INTEGER, false, asn1.integerToDer(n).getBytes());
const explicit = (value: asn1.Asn1) => asn1.create(Class.CONTEXT_SPECIFIC, 0, true, [value]);
const der = (value: asn1.Asn1) => asn1.toDer(value).getBytes();

/** The bag attributes OpenSSL writes: the SHA-1 of the certificate as local key id, and a name. */
function bagAttributes(localKeyId: string): asn1.Asn1 {
  // A BMPString is UTF-16 big-endian; the name is ASCII, so each character is a zero byte and itself.
  let name = '';
  for (const ch of P12_FRIENDLY_NAME) name += `\u0000${ch}`;
  return asn1.create(Class.UNIVERSAL, Type.SET, true, [
    seq([oid('localKeyId'), asn1.create(Class.UNIVERSAL, Type.SET, true, [octets(localKeyId)])]),
    seq([
      oid('friendlyName'),
      asn1.create(Class.UNIVERSAL, Type.SET, true, [
        asn1.create(Class.UNIVERSAL, Type.BMPSTRING, false, name),
      ]),
    ]),
  ]);
}

/**
 * A PKCS#12 file in the layout OpenSSL 1.x wrote by default, and so the one in older WeChat Pay
 * downloads: the certificate bag encrypted with pbeWithSHAAnd40BitRC2-CBC, the key bag with
 * pbeWithSHAAnd3-KeyTripleDES-CBC, a SHA-1 MAC. OpenSSL 3 refuses RC2 unless its legacy provider
 * is loaded, so `tls.createSecureContext({ pfx })` fails on it with an "unsupported" error.
 */
export function legacyPkcs12(certPem: string, keyPem: string, passphrase: string): Buffer {
  const certDer = der(pki.certificateToAsn1(pki.certificateFromPem(certPem)));
  const localKeyId = createHash('sha1').update(binary(certDer)).digest().toString('binary');
  const attributes = bagAttributes(localKeyId);

  const certBag = seq([
    oid('certBag'),
    explicit(seq([oid('x509Certificate'), explicit(octets(certDer))])),
    attributes,
  ]);
  const salt = util.createBuffer(randomBytes(8).toString('binary'));
  const rc2Key = pkcs12.generateKey(passphrase, salt, 1, P12_ITERATIONS, 5);
  const rc2Iv = pkcs12.generateKey(passphrase, salt, 2, P12_ITERATIONS, 8);
  const cipher = rc2.createEncryptionCipher(rc2Key, 40);
  cipher.start(rc2Iv);
  cipher.update(util.createBuffer(der(seq([certBag]))));
  if (!cipher.finish()) throw new Error('RC2 encryption failed');
  const encryptedCerts = seq([
    oid('encryptedData'),
    explicit(
      seq([
        integer(0),
        seq([
          oid('data'),
          seq([
            oid('pbewithSHAAnd40BitRC2-CBC'),
            seq([octets(salt.getBytes()), integer(P12_ITERATIONS)]),
          ]),
          asn1.create(Class.CONTEXT_SPECIFIC, 0, false, cipher.output.getBytes()),
        ]),
      ]),
    ),
  ]);

  const keyInfo = pki.wrapRsaPrivateKey(pki.privateKeyToAsn1(pki.privateKeyFromPem(keyPem)));
  const keyBag = seq([
    oid('pkcs8ShroudedKeyBag'),
    explicit(
      pki.encryptPrivateKeyInfo(keyInfo, passphrase, {
        algorithm: '3des',
        count: P12_ITERATIONS,
        saltSize: 8,
      }),
    ),
    attributes,
  ]);
  const plainKeys = seq([oid('data'), explicit(octets(der(seq([keyBag]))))]);

  const authenticatedSafe = der(seq([encryptedCerts, plainKeys]));
  const macSalt = util.createBuffer(randomBytes(8).toString('binary'));
  const macKey = pkcs12.generateKey(passphrase, macSalt, 3, P12_ITERATIONS, 20);
  const mac = createHmac('sha1', binary(macKey.getBytes()))
    .update(binary(authenticatedSafe))
    .digest()
    .toString('binary');
  const pfx = seq([
    integer(3),
    seq([oid('data'), explicit(octets(authenticatedSafe))]),
    seq([
      seq([seq([oid('sha1'), asn1.create(Class.UNIVERSAL, Type.NULL, false, '')]), octets(mac)]),
      octets(macSalt.getBytes()),
      integer(P12_ITERATIONS),
    ]),
  ]);
  return binary(der(pfx));
}

/** The certificate's facts the folder checks need, read with node's own X.509 parser. */
export function describeCertificate(certPem: string): X509Certificate {
  return new X509Certificate(certPem);
}
