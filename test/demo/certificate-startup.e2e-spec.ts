import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, TEST_MERCHANT, type RunningSimulator } from 'wechat-pay-v2-simulator';
import { CertificateFiles, TestCa } from '../fixtures/certificates';
import { freePort } from './harness';

/**
 * The demo's own start-up (main.ts, as `npm start` runs it) with the merchant certificate from
 * the environment: a certificate that cannot be used stops it with a message naming the variable
 * and what is wrong, and no secret. The files are the simulator's; the demo talks to no WeChat host
 * before it fails (SIMULATOR=off, so nothing else listens).
 */

const ROOT = join(__dirname, '..', '..');
const WRONG_PASSPHRASE = 'not-the-passphrase-7731';
const SESSION_SECRET = 'certificate-startup-session-secret';

interface Run {
  code: number | null;
  output: string;
}

/** Runs main.ts until it exits, or until it prints its start-up banner (then stops it). */
function startDemo(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        'apps/demo/src/main.ts',
      ],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'pipe' },
    );
    let output = '';
    let started = false;
    const read = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (!started && output.includes('demo shop ')) {
        started = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: started ? 0 : code, output });
    });
  });
}

// Each test starts a Node process that compiles the demo (a few seconds on a busy machine).
jest.setTimeout(30_000);

describe('demo start-up with a merchant certificate', () => {
  let simulator: RunningSimulator;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'demo-cert-startup-'));
    simulator = await startSimulator({ certDir: join(dir, 'certs') });
    env = {
      SIMULATOR: 'off',
      PORT: String(await freePort()),
      DATABASE_URL: `sqlite:${join(dir, 'demo.sqlite')}`,
      WECHAT_APP_ID: TEST_MERCHANT.appId,
      WECHAT_APP_SECRET: TEST_MERCHANT.appSecret,
      WECHAT_MCH_ID: TEST_MERCHANT.mchId,
      WECHAT_API_KEY: TEST_MERCHANT.apiKey,
      WECHAT_NOTIFY_URL: 'https://shop.example.com/wechat-pay/notify',
      SESSION_SECRET,
      RECONCILER_ENABLED: 'off',
      BILL_RECONCILE_ENABLED: 'off',
    };
  });

  afterAll(async () => {
    await simulator?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function expectNoSecret(output: string) {
    for (const secret of [
      WRONG_PASSPHRASE,
      TEST_MERCHANT.apiKey,
      TEST_MERCHANT.appSecret,
      SESSION_SECRET,
      'PRIVATE KEY',
    ]) {
      expect(output).not.toContain(secret);
    }
  }

  it('stops on a wrong WECHAT_CERT_PASSPHRASE, saying so, with no secret in the output', async () => {
    const run = await startDemo({
      ...env,
      WECHAT_CERT_P12: simulator.certificate.p12,
      WECHAT_CERT_PASSPHRASE: WRONG_PASSPHRASE,
    });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/cannot start: WECHAT_CERT_PASSPHRASE: does not open the p12 file/);
    expect(run.output).not.toContain('demo shop ');
    expectNoSecret(run.output);
  });

  it('stops on a WECHAT_CERT_P12 file that does not exist, naming the variable', async () => {
    const run = await startDemo({
      ...env,
      WECHAT_CERT_P12: join(dir, 'missing', 'apiclient_cert.p12'),
    });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(
      /cannot start: WECHAT_CERT_P12: the file could not be read \(ENOENT\)/,
    );
    expectNoSecret(run.output);
  });

  it('stops on an expired certificate, saying when it expired, with no secret in the output', async () => {
    const files = new CertificateFiles();
    try {
      const expired = new TestCa().merchant(TEST_MERCHANT.mchId, {
        notBefore: new Date(Date.now() - 400 * 86_400_000),
        notAfter: new Date(Date.now() - 86_400_000),
      });
      const run = await startDemo({
        ...env,
        WECHAT_CERT_P12: files.p12('expired.p12', expired, TEST_MERCHANT.mchId),
      });
      expect(run.code).toBe(1);
      expect(run.output).toMatch(/cannot start: .*expired on \d{4}-\d{2}-\d{2}T/);
      expect(run.output).not.toContain('demo shop ');
      expectNoSecret(run.output);
    } finally {
      files.remove();
    }
  });

  it('starts with a legacy (RC2) p12 that OpenSSL 3 refuses, and logs the command that converts it', async () => {
    const run = await startDemo({ ...env, WECHAT_CERT_P12: simulator.certificate.legacyP12 });
    expect(run.output).toContain('demo shop ');
    expect(run.output).toMatch(/openssl pkcs12 .*-legacy/);
    expect(run.code).toBe(0);
    expectNoSecret(run.output);
  });

  it('starts with the same file and the default passphrase (the mch_id)', async () => {
    const run = await startDemo({ ...env, WECHAT_CERT_P12: simulator.certificate.p12 });
    expect(run.output).toContain('demo shop ');
    expect(run.output).not.toContain('cannot start');
    expect(run.code).toBe(0);
  });
});
