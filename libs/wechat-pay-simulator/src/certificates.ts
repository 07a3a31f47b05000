import { createPrivateKey, createPublicKey, type X509Certificate } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  describeCertificate,
  issueCa,
  issueMerchantCertificate,
  issueServerCertificate,
  legacyPkcs12,
  modernPkcs12,
  newRsaKey,
  type KeyPair,
} from './pki';

/** WeChat's own file names, in every merchant folder. */
export const CERTIFICATE_FILES = Object.freeze({
  p12: 'apiclient_cert.p12',
  certPem: 'apiclient_cert.pem',
  keyPem: 'apiclient_key.pem',
  caPem: 'ca.pem',
  legacyP12: 'apiclient_cert_legacy.p12',
});

/** The CA and the TLS listener's key, at the top of the folder. */
export const AUTHORITY_FILES = Object.freeze({
  caPem: 'ca.pem',
  caKey: 'ca.key',
  serverKey: 'server_key.pem',
});

/** Where one merchant's certificate files are; the passphrase of both .p12 files is the mch_id. */
export interface MerchantCertificateFiles {
  mchId: string;
  /** `<certDir>/<mch_id>` */
  dir: string;
  /** apiclient_cert.p12: key and certificate, passphrase = mch_id (AES-256, readable by OpenSSL 3). */
  p12: string;
  /** apiclient_cert.pem */
  certPem: string;
  /** apiclient_key.pem (PKCS#8) */
  keyPem: string;
  /** ca.pem: the simulator CA, to trust for the TLS listener. */
  caPem: string;
  /** apiclient_cert_legacy.p12: the same pair encrypted RC2-40/3DES as old downloads are; OpenSSL 3 refuses it. */
  legacyP12: string;
  /** The passphrase of both .p12 files: the mch_id, as WeChat issues them. */
  passphrase: string;
  /** When the certificate expires (ISO). */
  notAfter: string;
}

/** What the TLS listener needs, read or issued once at start. */
export interface PreparedCertificates {
  dir: string;
  caPemPath: string;
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  merchants: MerchantCertificateFiles[];
}

/** A certificate folder the simulator cannot use; the message says what to change. */
export class CertificateFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateFolderError';
  }
}

/** Hosts the TLS listener's certificate is always valid for. */
export const DEFAULT_TLS_HOSTS: readonly string[] = Object.freeze([
  'localhost',
  '127.0.0.1',
  '::1',
]);

/**
 * The default folder, shared by every simulator of this user on this machine so the CA and the
 * merchant certificates survive restarts (an app keeps pointing at the same files).
 */
export function defaultCertDir(): string {
  const uid = typeof process.getuid === 'function' ? String(process.getuid()) : 'user';
  return join(tmpdir(), `wechat-pay-v2-simulator-${uid}`, 'certs');
}

const LOCK_FILE = '.lock';
/** Issuing a CA and a merchant takes a few seconds on a slow machine; a lock older than this is stale. */
const STALE_LOCK_MS = 60_000;
const LOCK_WAIT_MS = 120_000;

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Runs `work` while holding `<dir>/.lock`, so simulators starting together on one folder (test
 * workers, a CI matrix) never issue two CAs or two certificates for one merchant.
 */
async function withLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lock = join(dir, LOCK_FILE);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(lock, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const held = await stat(lock).catch(() => undefined);
      if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new CertificateFolderError(
          `${lock} has been held by another simulator for over ${LOCK_WAIT_MS / 1000} s; remove it if no simulator is starting`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { force: true });
  }
}

/** Writes a file whole (temporary name, then rename), so nobody ever reads half of it. */
async function writeWhole(path: string, data: string | Buffer, secret: boolean): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, data, { mode: secret ? 0o600 : 0o644 });
  await rename(temporary, path);
}

const readText = (path: string) => readFile(path, 'utf8');

function samePublicKey(certPem: string, keyPem: string): boolean {
  const fromCert = createPublicKey(certPem).export({ type: 'spki', format: 'der' });
  const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  return fromCert.equals(fromKey);
}

function parse(path: string, pem: string): X509Certificate {
  try {
    return describeCertificate(pem);
  } catch {
    throw new CertificateFolderError(`${path} is not a PEM certificate`);
  }
}

interface Authority {
  certPem: string;
  keyPem: string;
  cert: X509Certificate;
}

/** Reads the folder's CA, or issues one when neither ca.pem nor ca.key is there. */
async function authority(dir: string, now: number): Promise<Authority> {
  const certPath = join(dir, AUTHORITY_FILES.caPem);
  const keyPath = join(dir, AUTHORITY_FILES.caKey);
  const [hasCert, hasKey] = await Promise.all([exists(certPath), exists(keyPath)]);
  if (hasCert !== hasKey) {
    const [found, missing] = hasCert ? [certPath, keyPath] : [keyPath, certPath];
    throw new CertificateFolderError(
      `${found} exists but ${missing} does not: the simulator needs the CA certificate and its key together; add the missing file or remove ${found}`,
    );
  }
  if (!hasCert) {
    const key = await newRsaKey();
    const certPem = issueCa(key, now);
    await writeWhole(keyPath, key.privateKeyPem, true);
    await writeWhole(certPath, certPem, false);
    return { certPem, keyPem: key.privateKeyPem, cert: describeCertificate(certPem) };
  }
  const [certPem, keyPem] = await Promise.all([readText(certPath), readText(keyPath)]);
  const cert = parse(certPath, certPem);
  let matches: boolean;
  try {
    matches = samePublicKey(certPem, keyPem);
  } catch {
    throw new CertificateFolderError(`${keyPath} is not a PEM private key`);
  }
  if (!matches) throw new CertificateFolderError(`${keyPath} is not the key of ${certPath}`);
  if (!cert.ca) throw new CertificateFolderError(`${certPath} is not a CA certificate`);
  if (Date.parse(cert.validTo) <= now) {
    throw new CertificateFolderError(
      `the CA in ${certPath} expired on ${cert.validTo}; remove ${dir} to start with a new CA`,
    );
  }
  return { certPem, keyPem, cert };
}

function commonName(cert: X509Certificate): string | undefined {
  return /^CN=(.*)$/m.exec(cert.subject)?.[1];
}

/**
 * One merchant's folder: files that exist are checked and kept (never overwritten: the folder may
 * hold files the simulator did not write), missing ones are issued from the CA.
 */
async function merchantFiles(
  dir: string,
  mchId: string,
  ca: Authority,
  now: number,
): Promise<MerchantCertificateFiles> {
  const folder = join(dir, mchId);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const path = (name: keyof typeof CERTIFICATE_FILES) => join(folder, CERTIFICATE_FILES[name]);
  const [hasCert, hasKey] = await Promise.all([exists(path('certPem')), exists(path('keyPem'))]);
  if (hasCert !== hasKey) {
    const [found, missing] = hasCert
      ? [path('certPem'), path('keyPem')]
      : [path('keyPem'), path('certPem')];
    throw new CertificateFolderError(
      `${found} exists but ${missing} does not; remove ${folder} to have the merchant certificate issued again`,
    );
  }
  let certPem: string;
  let keyPem: string;
  if (hasCert) {
    [certPem, keyPem] = await Promise.all([readText(path('certPem')), readText(path('keyPem'))]);
    const cert = parse(path('certPem'), certPem);
    const problem =
      !cert.checkIssued(ca.cert) || !cert.verify(ca.cert.publicKey)
        ? `was not issued by the CA in ${join(dir, AUTHORITY_FILES.caPem)}`
        : commonName(cert) !== mchId
          ? `is not issued to mch_id ${mchId}`
          : Date.parse(cert.validTo) <= now
            ? `expired on ${cert.validTo}`
            : undefined;
    if (problem) {
      throw new CertificateFolderError(
        `${path('certPem')} ${problem}; remove ${folder} to have it issued again`,
      );
    }
    let matches: boolean;
    try {
      matches = samePublicKey(certPem, keyPem);
    } catch {
      throw new CertificateFolderError(`${path('keyPem')} is not a PEM private key`);
    }
    if (!matches) {
      throw new CertificateFolderError(`${path('keyPem')} is not the key of ${path('certPem')}`);
    }
  } else {
    const key: KeyPair = await newRsaKey();
    keyPem = key.privateKeyPem;
    certPem = issueMerchantCertificate(mchId, key, ca, now);
    await writeWhole(path('keyPem'), keyPem, true);
    await writeWhole(path('certPem'), certPem, false);
  }
  if (!(await exists(path('p12')))) {
    await writeWhole(path('p12'), modernPkcs12(certPem, keyPem, mchId), true);
  }
  if (!(await exists(path('legacyP12')))) {
    await writeWhole(path('legacyP12'), legacyPkcs12(certPem, keyPem, mchId), true);
  }
  if (await exists(path('caPem'))) {
    if ((await readText(path('caPem'))).trim() !== ca.certPem.trim()) {
      throw new CertificateFolderError(
        `${path('caPem')} is not the CA in ${join(dir, AUTHORITY_FILES.caPem)}; remove it to have it copied again`,
      );
    }
  } else {
    await writeWhole(path('caPem'), ca.certPem, false);
  }
  return {
    mchId,
    dir: folder,
    p12: path('p12'),
    certPem: path('certPem'),
    keyPem: path('keyPem'),
    caPem: path('caPem'),
    legacyP12: path('legacyP12'),
    passphrase: mchId,
    notAfter: new Date(Date.parse(describeCertificate(certPem).validTo)).toISOString(),
  };
}

async function serverKey(dir: string): Promise<KeyPair> {
  const path = join(dir, AUTHORITY_FILES.serverKey);
  if (await exists(path)) {
    const privateKeyPem = await readText(path);
    try {
      const publicKeyPem = createPublicKey(createPrivateKey(privateKeyPem))
        .export({ type: 'spki', format: 'pem' })
        .toString();
      return { privateKeyPem, publicKeyPem };
    } catch {
      throw new CertificateFolderError(`${path} is not a PEM private key`);
    }
  }
  const key = await newRsaKey();
  await writeWhole(path, key.privateKeyPem, true);
  return key;
}

/**
 * Reads or creates the certificate folder: the CA (ca.pem, ca.key), one folder per merchant
 * number with WeChat's file names, and the TLS listener's key. The listener's certificate is
 * issued in memory at every start, so its host names follow the options.
 */
export async function prepareCertificates(
  dir: string,
  mchIds: readonly string[],
  tlsHosts: readonly string[],
  now = Date.now(),
): Promise<PreparedCertificates> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CertificateFolderError(
      `cannot use ${dir} for certificates (${(err as NodeJS.ErrnoException).code ?? 'error'}); choose another folder with certDir / --cert-dir / SIMULATOR_CERT_DIR`,
    );
  }
  return withLock(dir, async () => {
    const ca = await authority(dir, now);
    const merchants: MerchantCertificateFiles[] = [];
    for (const mchId of [...new Set(mchIds)])
      merchants.push(await merchantFiles(dir, mchId, ca, now));
    const key = await serverKey(dir);
    const hosts = [...new Set([...DEFAULT_TLS_HOSTS, ...tlsHosts])];
    return {
      dir,
      caPemPath: join(dir, AUTHORITY_FILES.caPem),
      caPem: ca.certPem,
      serverCertPem: issueServerCertificate(hosts, key, ca, now),
      serverKeyPem: key.privateKeyPem,
      merchants,
    };
  });
}
