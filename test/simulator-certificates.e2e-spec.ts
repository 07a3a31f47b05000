import { execFile } from 'node:child_process';
import {
  X509Certificate,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
} from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { promisify } from 'node:util';
import { md, pki } from 'node-forge';
import {
  startSimulator,
  TEST_MERCHANT,
  type RunningSimulator,
  type SimulatorMerchant,
} from 'wechat-pay-v2-simulator';
import {
  PAYER_OPENID,
  SimClient,
  httpsCall,
  orderFields,
  payParams,
  type TlsIdentity,
} from './simulator-support';

const run = promisify(execFile);

// Issuing a CA and merchant certificates (RSA 2048) takes a few seconds on a busy machine.
jest.setTimeout(60_000);

const OTHER: SimulatorMerchant = {
  appId: 'wx0f0f0f0f0f0f0f02',
  mchId: '1900000202',
  apiKey: 'OtherMerchantKey0123456789abcdef',
  appSecret: 'other-app-secret',
};

/** An RSA certificate for `cn` signed by `issuer` (PEM pair), valid from `from` to `to`. */
function forgeCertificate(
  cn: string,
  issuer: { certPem: string; keyPem: string } | undefined,
  from: Date,
  to: Date,
): { certPem: string; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(publicKey);
  cert.serialNumber = '0a1b2c';
  cert.validity.notBefore = from;
  cert.validity.notAfter = to;
  cert.setSubject([{ shortName: 'CN', value: cn }]);
  cert.setIssuer(
    issuer ? pki.certificateFromPem(issuer.certPem).subject.attributes : cert.subject.attributes,
  );
  cert.sign(pki.privateKeyFromPem(issuer ? issuer.keyPem : privateKey), md.sha256.create());
  return { certPem: pki.certificateToPem(cert), keyPem: privateKey };
}

describe('simulator: certificates and the TLS listener', () => {
  let dir: string;
  let sim: RunningSimulator;
  let ca: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simulator-certs-'));
    sim = await startSimulator({
      merchants: [TEST_MERCHANT, OTHER],
      timeScale: 0.001,
      certDir: join(dir, 'certs'),
    });
    ca = await readFile(sim.caPem, 'utf8');
  });

  afterAll(async () => {
    await sim?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const identity = (mchId = TEST_MERCHANT.mchId): Promise<TlsIdentity> => {
    const files = sim.certificates.find((c) => c.mchId === mchId);
    if (!files) throw new Error(`no certificate for ${mchId}`);
    return Promise.all([readFile(files.certPem), readFile(files.keyPem)]).then(([cert, key]) => ({
      ca,
      cert,
      key,
    }));
  };

  describe('the certificate folder', () => {
    it("writes WeChat's file names per mch_id, keys readable by the owner only, and the CA beside them", async () => {
      expect(sim.certDir).toBe(join(dir, 'certs'));
      expect(sim.caPem).toBe(join(dir, 'certs', 'ca.pem'));
      expect(sim.certificates.map((c) => c.mchId)).toEqual([TEST_MERCHANT.mchId, OTHER.mchId]);
      expect(sim.certificate).toEqual(sim.certificates[0]);
      for (const files of sim.certificates) {
        const folder = join(dir, 'certs', files.mchId);
        expect(files).toEqual({
          mchId: files.mchId,
          dir: folder,
          p12: join(folder, 'apiclient_cert.p12'),
          certPem: join(folder, 'apiclient_cert.pem'),
          keyPem: join(folder, 'apiclient_key.pem'),
          caPem: join(folder, 'ca.pem'),
          legacyP12: join(folder, 'apiclient_cert_legacy.p12'),
          passphrase: files.mchId,
          notAfter: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        });
        expect(await readFile(files.caPem, 'utf8')).toBe(ca);
        for (const secret of [files.keyPem, files.p12, files.legacyP12]) {
          expect((await stat(secret)).mode & 0o777).toBe(0o600);
        }
      }
      expect((await stat(join(dir, 'certs', 'ca.key'))).mode & 0o777).toBe(0o600);
    });

    it('issues each merchant a five-year certificate from the CA whose common name is its mch_id', async () => {
      const authority = new X509Certificate(ca);
      expect(authority.ca).toBe(true);
      for (const files of sim.certificates) {
        const cert = new X509Certificate(await readFile(files.certPem));
        expect(cert.subject).toContain(`CN=${files.mchId}`);
        expect(cert.checkIssued(authority)).toBe(true);
        expect(cert.verify(authority.publicKey)).toBe(true);
        expect(cert.ca).toBe(false);
        const years = (Date.parse(cert.validTo) - Date.now()) / (365 * 24 * 3600 * 1000);
        expect(years).toBeGreaterThan(4.9);
        expect(cert.checkPrivateKey(createPrivateKey(await readFile(files.keyPem)))).toBe(true);
        expect(new Date(Date.parse(cert.validTo)).toISOString()).toBe(files.notAfter);
      }
    });

    it('writes a p12 whose passphrase is the mch_id and that this OpenSSL reads', async () => {
      const files = sim.certificate;
      const pfx = await readFile(files.p12);
      expect(() => createSecureContext({ pfx, passphrase: files.mchId })).not.toThrow();
      expect(() => createSecureContext({ pfx, passphrase: 'wrong' })).toThrow(/mac verify failure/);
    });

    it('writes a legacy RC2/3DES p12 that OpenSSL 3 refuses as unsupported and reads with its legacy provider', async () => {
      const files = sim.certificate;
      const pfx = await readFile(files.legacyP12);
      expect(() => createSecureContext({ pfx, passphrase: files.mchId })).toThrow(
        expect.objectContaining({
          code: 'ERR_CRYPTO_UNSUPPORTED_OPERATION',
          message: expect.stringMatching(/unsupported/i),
        }),
      );
      // The same file is a valid PKCS#12 once the legacy algorithms are loaded.
      const { stdout } = await run(process.execPath, [
        '--openssl-legacy-provider',
        '-e',
        `const tls = require('node:tls'); const fs = require('node:fs');
         const { X509Certificate } = require('node:crypto');
         const context = tls.createSecureContext({ pfx: fs.readFileSync(process.argv[1]), passphrase: process.argv[2] });
         process.stdout.write(new X509Certificate(context.context.getCertificate()).subject);`,
        files.legacyP12,
        files.mchId,
      ]);
      expect(stdout).toContain(`CN=${files.mchId}`);
    });

    it('reuses the folder on the next start: the same CA and merchant certificates, a new merchant issued from that CA', async () => {
      const before = await readFile(sim.certificate.certPem, 'utf8');
      const third: SimulatorMerchant = {
        ...OTHER,
        appId: 'wx0f0f0f0f0f0f0f03',
        mchId: '1900000303',
      };
      const again = await startSimulator({
        merchants: [TEST_MERCHANT, third],
        certDir: sim.certDir,
      });
      try {
        expect(await readFile(again.caPem, 'utf8')).toBe(ca);
        expect(await readFile(again.certificate.certPem, 'utf8')).toBe(before);
        const issued = new X509Certificate(await readFile(again.certificates[1].certPem));
        expect(issued.subject).toContain('CN=1900000303');
        expect(issued.checkIssued(new X509Certificate(ca))).toBe(true);
      } finally {
        await again.stop();
      }
    });

    it('shares one CA between folders: a folder holding only ca.pem and ca.key gets its merchants issued from it', async () => {
      const shared = join(dir, 'shared-ca');
      await startSimulator({ merchants: [OTHER], certDir: shared }).then((s) => s.stop());
      await rm(join(shared, OTHER.mchId), { recursive: true });
      await rm(join(shared, 'server_key.pem'));
      const other = join(dir, 'second-folder');
      await rm(other, { recursive: true, force: true });
      await import('node:fs/promises').then(({ mkdir }) => mkdir(other));
      await copyFile(join(shared, 'ca.pem'), join(other, 'ca.pem'));
      await copyFile(join(shared, 'ca.key'), join(other, 'ca.key'));
      const second = await startSimulator({ merchants: [TEST_MERCHANT], certDir: other });
      try {
        const authority = new X509Certificate(await readFile(join(shared, 'ca.pem')));
        const cert = new X509Certificate(await readFile(second.certificate.certPem));
        expect(cert.checkIssued(authority)).toBe(true);
        expect(cert.verify(authority.publicKey)).toBe(true);
      } finally {
        await second.stop();
      }
    });

    it('lets simulators starting together on an empty folder share one CA and one certificate per merchant', async () => {
      const folder = join(dir, 'together');
      const sims = await Promise.all(
        [0, 1, 2].map(() => startSimulator({ merchants: [TEST_MERCHANT], certDir: folder })),
      );
      try {
        const cas = await Promise.all(sims.map((s) => readFile(s.caPem, 'utf8')));
        const certs = await Promise.all(sims.map((s) => readFile(s.certificate.certPem, 'utf8')));
        expect(new Set(cas).size).toBe(1);
        expect(new Set(certs).size).toBe(1);
      } finally {
        await Promise.all(sims.map((s) => s.stop()));
      }
    });

    it('refuses to start on ca.pem without ca.key, or on a merchant certificate another CA issued, and changes no file', async () => {
      const broken = join(dir, 'broken');
      await startSimulator({ merchants: [TEST_MERCHANT], certDir: broken }).then((s) => s.stop());
      const key = await readFile(join(broken, 'ca.key'));
      await rm(join(broken, 'ca.key'));
      await expect(startSimulator({ merchants: [TEST_MERCHANT], certDir: broken })).rejects.toThrow(
        `${join(broken, 'ca.pem')} exists but ${join(broken, 'ca.key')} does not`,
      );
      await writeFile(join(broken, 'ca.key'), key, { mode: 0o600 });

      const foreign = forgeCertificate(
        TEST_MERCHANT.mchId,
        undefined,
        new Date(),
        new Date(Date.now() + 1e10),
      );
      const certPath = join(broken, TEST_MERCHANT.mchId, 'apiclient_cert.pem');
      await writeFile(certPath, foreign.certPem);
      await writeFile(join(broken, TEST_MERCHANT.mchId, 'apiclient_key.pem'), foreign.keyPem);
      await expect(startSimulator({ merchants: [TEST_MERCHANT], certDir: broken })).rejects.toThrow(
        `${certPath} was not issued by the CA in ${join(broken, 'ca.pem')}`,
      );
      expect(await readFile(certPath, 'utf8')).toBe(foreign.certPem);
    });

    it('never puts a private key in a start-up error', async () => {
      const folder = join(dir, 'bad-key');
      await startSimulator({ merchants: [TEST_MERCHANT], certDir: folder }).then((s) => s.stop());
      const other = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      });
      await writeFile(join(folder, TEST_MERCHANT.mchId, 'apiclient_key.pem'), other.privateKey);
      const failure = await startSimulator({ merchants: [TEST_MERCHANT], certDir: folder }).catch(
        (err: Error) => err,
      );
      expect((failure as Error).message).toContain('apiclient_key.pem is not the key of');
      expect((failure as Error).message).not.toContain('PRIVATE KEY');
      expect(createPublicKey(other.publicKey)).toBeDefined();
    });
  });

  describe('the HTTPS listener', () => {
    it('presents a certificate from the CA for 127.0.0.1 and localhost and serves the plain paths without a client certificate', async () => {
      expect(sim.tlsBaseUrl).toBe(`https://127.0.0.1:${sim.tlsPort}`);
      const client = new SimClient(sim.tlsBaseUrl, TEST_MERCHANT, 'MD5', { ca });
      const answer = await client.call('/pay/orderquery', { out_trade_no: 'NOSUCHORDER01' });
      expect(answer.fields.err_code).toBe('ORDERNOTEXIST');
      expect(client.verifies(answer)).toBe(true);
      const byName = new SimClient(`https://localhost:${sim.tlsPort}`, TEST_MERCHANT, 'MD5', {
        ca,
      });
      await expect(
        byName.call('/pay/orderquery', { out_trade_no: 'NOSUCHORDER01' }),
      ).resolves.toMatchObject({
        status: 200,
      });
      // A client that does not trust the simulator CA refuses the listener.
      await expect(
        httpsCall(`${sim.tlsBaseUrl}/pay/orderquery`, '', { ca: [] as unknown as string }),
      ).rejects.toThrow(/self-signed|unable to (get|verify)/i);
    });

    it('answers /secapi over plain HTTP like a host without that page: a plain 404', async () => {
      const res = await fetch(`${sim.baseUrl}/secapi/pay/refund`, {
        method: 'POST',
        body: '<xml/>',
      });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toBe('404 Not Found');
    });

    it("answers /secapi without a client certificate with nginx's 400 page about the missing certificate", async () => {
      const res = await httpsCall(`${sim.tlsBaseUrl}/secapi/pay/refund`, '<xml></xml>', { ca });
      expect(res.status).toBe(400);
      expect(res.contentType).toBe('text/html');
      const page = res.body.toString('utf8');
      expect(page).toContain(
        '<head><title>400 No required SSL certificate was sent</title></head>',
      );
      expect(page).toContain('<center>No required SSL certificate was sent</center>');
      expect(page).toContain('<hr><center>nginx</center>');
    });

    it('answers a certificate the CA did not issue, and an expired one it did, with the SSL certificate error page', async () => {
      const stranger = forgeCertificate(
        TEST_MERCHANT.mchId,
        undefined,
        new Date(),
        new Date(Date.now() + 1e10),
      );
      const foreign = await httpsCall(`${sim.tlsBaseUrl}/secapi/pay/refund`, '<xml></xml>', {
        ca,
        cert: stranger.certPem,
        key: stranger.keyPem,
      });
      expect(foreign.status).toBe(400);
      expect(foreign.body.toString('utf8')).toContain('<center>The SSL certificate error</center>');

      const caKey = await readFile(join(sim.certDir, 'ca.key'), 'utf8');
      const expired = forgeCertificate(
        TEST_MERCHANT.mchId,
        { certPem: ca, keyPem: caKey },
        new Date(Date.now() - 20 * 86_400_000),
        new Date(Date.now() - 10 * 86_400_000),
      );
      const old = await httpsCall(`${sim.tlsBaseUrl}/secapi/pay/refund`, '<xml></xml>', {
        ca,
        cert: expired.certPem,
        key: expired.keyPem,
      });
      expect(old.status).toBe(400);
      expect(old.body.toString('utf8')).toContain('The SSL certificate error');
    });

    async function paidOrder(): Promise<{ outTradeNo: string; totalFee: number }> {
      const client = new SimClient(sim.baseUrl, TEST_MERCHANT);
      const fields = orderFields({ total_fee: 300 });
      const created = await client.call('/pay/unifiedorder', fields);
      const paid = sim.controls.requestPayment({
        ...payParams(TEST_MERCHANT, created.fields.prepay_id, 'MD5'),
        openid: PAYER_OPENID,
      });
      expect(paid.errMsg).toBe('requestPayment:ok');
      return { outTradeNo: fields.out_trade_no as string, totalFee: 300 };
    }

    it("answers a refund signed by one merchant but carrying another merchant's certificate with a signed CERT_ERROR, and refunds nothing", async () => {
      const { outTradeNo } = await paidOrder();
      const client = new SimClient(
        sim.tlsBaseUrl,
        TEST_MERCHANT,
        'MD5',
        await identity(OTHER.mchId),
      );
      const answer = await client.call('/secapi/pay/refund', {
        out_trade_no: outTradeNo,
        out_refund_no: `${outTradeNo}R1`,
        total_fee: 300,
        refund_fee: 100,
      });
      expect(answer.fields).toMatchObject({
        return_code: 'SUCCESS',
        result_code: 'FAIL',
        err_code: 'CERT_ERROR',
        err_code_des: '证书校验错误',
      });
      expect(client.verifies(answer)).toBe(true);
      expect(sim.controls.refunds(outTradeNo)).toEqual([]);
    });

    it('accepts a refund from the merchant presenting its own certificate, as a PEM pair and as the p12 with the mch_id passphrase', async () => {
      for (const tls of [
        await identity(),
        { ca, pfx: await readFile(sim.certificate.p12), passphrase: TEST_MERCHANT.mchId },
      ]) {
        const { outTradeNo } = await paidOrder();
        const client = new SimClient(sim.tlsBaseUrl, TEST_MERCHANT, 'MD5', tls);
        const answer = await client.call('/secapi/pay/refund', {
          out_trade_no: outTradeNo,
          out_refund_no: `${outTradeNo}R1`,
          total_fee: 300,
          refund_fee: 300,
        });
        expect(answer.fields).toMatchObject({ result_code: 'SUCCESS', refund_fee: '300' });
        expect(client.verifies(answer)).toBe(true);
      }
    });

    it('still sees the certificate on a reused keep-alive socket', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1, ...(await identity()) });
      try {
        const client = new SimClient(sim.tlsBaseUrl, TEST_MERCHANT, 'MD5', { ca, agent });
        const reused: boolean[] = [];
        for (let i = 0; i < 3; i += 1) {
          const { outTradeNo } = await paidOrder();
          const body = client.signed({
            out_trade_no: outTradeNo,
            out_refund_no: `${outTradeNo}R1`,
            total_fee: 300,
            refund_fee: 100,
          });
          const res = await httpsCall(`${sim.tlsBaseUrl}/secapi/pay/refund`, body, { ca, agent });
          expect(res.status).toBe(200);
          expect(res.body.toString('utf8')).toContain(
            '<result_code><![CDATA[SUCCESS]]></result_code>',
          );
          reused.push(res.reusedSocket);
        }
        expect(reused).toEqual([false, true, true]);
      } finally {
        agent.destroy();
      }
    });
  });
});
