import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { TEST_MERCHANT } from 'wechat-pay-v2-simulator';
import { SimClient, newOrderNo, orderFields } from './simulator-support';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');
const README = join(ROOT, 'libs/wechat-pay-simulator/README.md');

// Building, packing and installing from the npm cache take a while on a shared machine.
jest.setTimeout(300_000);

/** A child's environment with nothing from this repository's tooling in it. */
const cleanEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  ...(process.env.npm_config_cache && { npm_config_cache: process.env.npm_config_cache }),
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The fenced TypeScript block under the README's "Jest example" heading. */
async function readmeJestExample(): Promise<string> {
  const text = await readFile(README, 'utf8');
  const section = text.split(/^## /m).find((part) => part.startsWith('Jest example'));
  const code = section && /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!code) throw new Error('the README has no ```ts block under "## Jest example"');
  return code;
}

describe('the wechat-pay-v2-simulator package, packed and installed into an empty folder', () => {
  let work: string;
  let consumer: string;
  let bin: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'simulator-package-'));
    const built = join(work, 'package');
    await run(process.execPath, [join(ROOT, 'scripts/build-simulator.js'), '--out-dir', built]);
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: built,
      env: cleanEnv(),
    });
    const [{ filename }] = JSON.parse(stdout) as Array<{ filename: string }>;
    consumer = join(work, 'consumer');
    await mkdir(consumer);
    await writeFile(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
    );
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, filename)],
      { cwd: consumer, env: cleanEnv() },
    );
    bin = join(consumer, 'node_modules/.bin/wechat-pay-v2-simulator');
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('installs with sax and node-forge as its only dependencies: no NestJS, no library, no TypeScript', async () => {
    const installed = await readdir(join(consumer, 'node_modules'));
    expect(installed.filter((name) => !name.startsWith('.')).sort()).toEqual([
      'node-forge',
      'sax',
      'wechat-pay-v2-simulator',
    ]);
    const pkg = JSON.parse(
      await readFile(join(consumer, 'node_modules/wechat-pay-v2-simulator/package.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(pkg).toMatchObject({
      name: 'wechat-pay-v2-simulator',
      license: 'MIT',
      types: 'index.d.ts',
      bin: { 'wechat-pay-v2-simulator': 'main.js' },
      dependencies: { sax: expect.any(String), 'node-forge': expect.any(String) },
    });
    for (const file of ['README.md', 'CHANGELOG.md', 'LICENSE', 'index.d.ts']) {
      await expect(
        readFile(join(consumer, 'node_modules/wechat-pay-v2-simulator', file), 'utf8'),
      ).resolves.not.toBe('');
    }
  });

  it('prints every flag and environment variable for npx wechat-pay-v2-simulator --help', async () => {
    const { stdout } = await run('npx', ['wechat-pay-v2-simulator', '--help'], {
      cwd: consumer,
      env: cleanEnv(),
    });
    expect(stdout).toContain('Usage: wechat-pay-v2-simulator [options]');
    for (const name of [
      '--port',
      'SIMULATOR_PORT',
      'SIMULATOR_HOST',
      'SIMULATOR_TIME_SCALE',
      'SIMULATOR_CLOSE_ORDER_MIN_AGE_MS',
      'SIMULATOR_RETAIN_CLOSED_MS',
      'SIMULATOR_RETAIN_PAID_MS',
      'SIMULATOR_MAX_ORDERS',
      'SIMULATOR_COMPAT',
      'SIMULATOR_REALISM',
      'SIMULATOR_TLS_PORT',
      'SIMULATOR_CERT_DIR',
      'SIMULATOR_REFUND_DELAY_MS',
      'SIMULATOR_BILL_CREATING',
      'WECHAT_API_KEY',
    ]) {
      expect(stdout).toContain(name);
    }
    const version = await run(bin, ['--version'], { env: cleanEnv() });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('refuses a bad flag with exit code 2 and a message naming it', async () => {
    const failure = await run(bin, ['--port', 'many'], { env: cleanEnv() }).catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toContain('--port must be a number');
  });

  it('starts with --port and environment settings and answers signed WeChat calls, refunds over mutual TLS included', async () => {
    const port = await freePort();
    const tlsPort = await freePort();
    const certDir = join(work, 'certs');
    // The installed bin itself, so the signal reaches the simulator rather than an npx wrapper.
    const child: ChildProcess = spawn(bin, ['--port', String(port), '--cert-dir', certDir], {
      cwd: consumer,
      env: {
        ...cleanEnv(),
        SIMULATOR_MAX_ORDERS: '25',
        SIMULATOR_CLOSE_ORDER_MIN_AGE_MS: '0',
        SIMULATOR_TLS_PORT: String(tlsPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString('utf8');
          if (out.includes('retention:')) resolve(out);
        });
        void exited.then((code) => reject(new Error(`exited with ${code}: ${out}`)));
      });
      expect(banner).toContain(`listening on http://127.0.0.1:${port}`);
      expect(banner).toContain('at most 25 orders');
      expect(banner).toContain(
        `HTTPS (client certificate for /secapi/*) listening on https://127.0.0.1:${tlsPort}`,
      );
      const p12 = join(certDir, TEST_MERCHANT.mchId, 'apiclient_cert.p12');
      expect(banner).toContain(`certificates in ${certDir}`);
      expect(banner).toContain(p12);
      expect(banner).not.toContain('PRIVATE KEY');

      const client = new SimClient(`http://127.0.0.1:${port}`, TEST_MERCHANT, 'HMAC-SHA256');
      const unknown = await client.call('/pay/orderquery', { out_trade_no: newOrderNo() });
      expect(unknown.fields).toMatchObject({
        return_code: 'SUCCESS',
        result_code: 'FAIL',
        err_code: 'ORDERNOTEXIST',
        err_code_des: '此交易订单号不存在',
      });
      expect(client.verifies(unknown)).toBe(true);
      const fields = orderFields();
      const created = await client.call('/pay/unifiedorder', fields);
      expect(created.fields.result_code).toBe('SUCCESS');
      expect(client.verifies(created)).toBe(true);
      // SIMULATOR_CLOSE_ORDER_MIN_AGE_MS=0 took effect: the order closes at once.
      const closed = await client.call('/pay/closeorder', { out_trade_no: fields.out_trade_no });
      expect(closed.fields).toMatchObject({ result_code: 'SUCCESS', result_msg: 'OK' });
      // The certificate files it printed work on its HTTPS listener: an unknown order is ORDERNOTEXIST.
      const secure = new SimClient(`https://127.0.0.1:${tlsPort}`, TEST_MERCHANT, 'HMAC-SHA256', {
        ca: await readFile(join(certDir, 'ca.pem')),
        pfx: await readFile(p12),
        passphrase: TEST_MERCHANT.mchId,
      });
      const refund = await secure.call('/secapi/pay/refund', {
        out_trade_no: newOrderNo(),
        out_refund_no: 'R1',
        total_fee: 100,
        refund_fee: 100,
      });
      expect(refund.fields).toMatchObject({ result_code: 'FAIL', err_code: 'ORDERNOTEXIST' });
      expect(secure.verifies(refund)).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    await expect(exited).resolves.toBe(0);
  });

  it('type-checks a strict consumer with skipLibCheck off and the README Jest example, without the library', async () => {
    await writeFile(join(consumer, 'readme-example.test.ts'), await readmeJestExample());
    await writeFile(
      join(consumer, 'api.ts'),
      [
        "import { RETENTION_DEFAULTS, SCRIPTABLE_ERRORS, startSimulator, type RunningSimulator, type SimulatorRealism } from 'wechat-pay-v2-simulator';",
        'export async function main(): Promise<void> {',
        "  const sim: RunningSimulator = await startSimulator({ compat: 'plain', realism: { newlines: true }, retention: { maxOrders: 10 } });",
        '  const realism: SimulatorRealism = sim.realism;',
        "  sim.controls.setFaults({ businessErrors: [{ path: '/pay/unifiedorder', errCode: 'NOAUTH' }] });",
        '  const held: number = sim.controls.stats().orders + RETENTION_DEFAULTS.maxOrders;',
        "  void [realism, held, SCRIPTABLE_ERRORS['/pay/closeorder'].TRADE_STATE_ERROR];",
        '  await sim.stop();',
        '}',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          module: 'commonjs',
          moduleResolution: 'node',
          target: 'ES2022',
          lib: ['ES2022', 'DOM'],
          types: ['node', 'jest'],
          typeRoots: [join(ROOT, 'node_modules/@types')],
        },
        files: ['api.ts', 'readme-example.test.ts'],
      }),
    );
    const checked = await run(
      process.execPath,
      [require.resolve('typescript/bin/tsc'), '-p', join(consumer, 'tsconfig.json')],
      { cwd: consumer },
    ).catch((err: { stdout: string }) => err);
    expect((checked as { stdout: string }).stdout).toBe('');
  });

  it("runs the README's Jest example against the installed package", async () => {
    await writeFile(join(consumer, 'readme-example.test.ts'), await readmeJestExample());
    await writeFile(
      join(consumer, 'jest.config.js'),
      `module.exports = ${JSON.stringify({
        rootDir: consumer,
        testEnvironment: 'node',
        testMatch: ['<rootDir>/*.test.ts'],
        cacheDirectory: join(work, 'jest-cache'),
        transform: {
          '^.+\\.ts$': [
            require.resolve('ts-jest'),
            {
              diagnostics: false,
              tsconfig: { module: 'commonjs', target: 'ES2022', esModuleInterop: true },
            },
          ],
        },
      })};\n`,
    );
    const result = await run(
      process.execPath,
      [
        join(dirname(require.resolve('jest/package.json')), 'bin/jest.js'),
        '--config',
        join(consumer, 'jest.config.js'),
        '--ci',
      ],
      { cwd: consumer, env: cleanEnv() },
    ).catch((err: { stdout: string; stderr: string }) => err);
    const { stderr } = result as { stderr: string };
    expect(stderr).toContain('Tests:       1 passed, 1 total');
    expect(stderr).toContain('notifies the shop once the user pays');
  });
});
