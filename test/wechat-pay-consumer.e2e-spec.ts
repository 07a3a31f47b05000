import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSimulator, TEST_MERCHANT, type RunningSimulator } from 'wechat-pay-v2-simulator';

/**
 * The library as a stranger gets it: built and packed, installed from the tarball into copies of
 * examples/express-host and examples/fastify-host (apps written the way the README says), type-
 * checked with strict and skipLibCheck off, started, and driven through one payment against the
 * simulator. A broken exports map, a missing .d.ts or a README snippet that stopped compiling
 * fails here.
 */
const run = promisify(execFile);
const ROOT = join(__dirname, '..');
const PACKAGE_DIR = join(ROOT, 'dist/libs/wechat-pay');
const EXAMPLES = ['express-host', 'fastify-host'] as const;
/** The files both examples share; only main.ts differs between them. */
const SHARED_FILES = [
  'app.module.ts',
  'checkout.service.ts',
  'payment-events.ts',
  'checkout.controller.ts',
];
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

jest.setTimeout(600_000);

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run('npm', args, { cwd, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The README's code blocks marked with the file (an example app's, or a spec's) they must equal. */
async function readmeSnippets(): Promise<Array<{ file: string; code: string }>> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const snippets: Array<{ file: string; code: string }> = [];
  for (const match of readme.matchAll(
    /<!-- ((?:examples|test)\/[^ ]+) -->\n+```ts\n([\s\S]*?)```/g,
  )) {
    snippets.push({ file: match[1], code: match[2] });
  }
  return snippets;
}

let workdir: string;
let tarball: string;

beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), 'wechat-pay-consumer-'));
  await run(process.execPath, [join(ROOT, 'scripts/build-lib.js')], { cwd: ROOT });
  const packed = JSON.parse(
    await npm(['pack', '--json', '--pack-destination', workdir], PACKAGE_DIR),
  ) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  tarball = join(workdir, packed[0].filename);
});

afterAll(async () => {
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

describe('the packed nestjs-wechat-pay-v2', () => {
  it('ships the LICENSE, the CHANGELOG, a README linking to the full guide and every entry point', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.split('\n');
    for (const file of [
      'package/LICENSE',
      'package/CHANGELOG.md',
      'package/README.md',
      'package/package.json',
      'package/index.d.ts',
      'package/testing/index.d.ts',
      'package/protocol/index.d.ts',
      'package/health/index.d.ts',
    ]) {
      expect(files).toContain(file);
    }
    expect(files.some((file) => file.endsWith('.spec.js'))).toBe(false);
    const { stdout: readme } = await run('tar', ['-xzOf', tarball, 'package/README.md']);
    const manifest = JSON.parse(
      (await run('tar', ['-xzOf', tarball, 'package/package.json'])).stdout,
    ) as { homepage: string };
    expect(readme).toContain(manifest.homepage);
  });

  it('installs into an empty folder and loads every entry point from plain Node', async () => {
    const dir = join(workdir, 'empty');
    await run('mkdir', ['-p', dir]);
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'empty', private: true }));
    await npm(['install', ...NPM_FLAGS, tarball], dir);
    const script = [
      "require('reflect-metadata');",
      "const root = require('nestjs-wechat-pay-v2');",
      "const protocol = require('nestjs-wechat-pay-v2/protocol');",
      "const testing = require('nestjs-wechat-pay-v2/testing');",
      'console.log(JSON.stringify({',
      '  module: typeof root.WechatPayModule, maxFen: root.MAX_FEN,',
      '  sign: typeof protocol.sign, build: typeof testing.buildPaymentNotification,',
      '}));',
    ].join('\n');
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: dir });
    expect(JSON.parse(stdout)).toEqual({
      module: 'function',
      maxFen: Number.MAX_SAFE_INTEGER,
      sign: 'function',
      build: 'function',
    });
  });
});

describe('the README and the examples', () => {
  it('show the same code: each README snippet is the example file it names', async () => {
    const snippets = await readmeSnippets();
    expect(snippets.map((s) => s.file)).toEqual([
      'examples/express-host/src/app.module.ts',
      'examples/express-host/src/checkout.service.ts',
      'examples/express-host/src/payment-events.ts',
      'examples/fastify-host/src/main.ts',
      'test/simulator-readme-example.e2e-spec.ts',
    ]);
    for (const { file, code } of snippets) {
      expect(code).toBe(await readFile(join(ROOT, file), 'utf8'));
    }
  });

  it('share every file but main.ts', async () => {
    for (const file of SHARED_FILES) {
      const [express, fastify] = await Promise.all(
        EXAMPLES.map((example) => readFile(join(ROOT, 'examples', example, 'src', file), 'utf8')),
      );
      expect(fastify).toBe(express);
    }
  });
});

describe.each(EXAMPLES)('examples/%s from the tarball', (example) => {
  let dir: string;
  let sim: RunningSimulator;
  let app: ChildProcess | undefined;
  let base: string;
  let output = '';

  beforeAll(async () => {
    dir = join(workdir, example);
    await cp(join(ROOT, 'examples', example), dir, {
      recursive: true,
      filter: (source) => !/node_modules|dist/.test(source.slice(ROOT.length)),
    });
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    manifest.dependencies['nestjs-wechat-pay-v2'] = `file:${tarball}`;
    await writeFile(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
    await npm(['install', ...NPM_FLAGS], dir);
    sim = await startSimulator({ merchants: [TEST_MERCHANT] });
  });

  afterAll(async () => {
    app?.kill('SIGTERM');
    await sim?.stop();
  });

  it('type-checks and builds with strict: true and skipLibCheck: false', async () => {
    const tsconfig = JSON.parse(await readFile(join(dir, 'tsconfig.json'), 'utf8')) as {
      compilerOptions: { strict: boolean; skipLibCheck: boolean };
    };
    expect(tsconfig.compilerOptions).toMatchObject({ strict: true, skipLibCheck: false });
    await expect(npm(['run', 'build'], dir)).resolves.toBeDefined();
  });

  it('takes a payment: login, checkout, wx.requestPayment, the notification reaches the handler', async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    app = spawn(process.execPath, ['dist/main.js'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        WECHAT_APP_ID: sim.merchant.appId,
        WECHAT_MCH_ID: sim.merchant.mchId,
        WECHAT_API_KEY: sim.merchant.apiKey,
        WECHAT_APP_SECRET: sim.merchant.appSecret,
        WECHAT_NOTIFY_URL: `${base}/wechat-pay/notify`,
        WECHAT_PAY_BASE_URL: sim.baseUrl,
        WECHAT_API_BASE_URL: sim.baseUrl,
      },
    });
    app.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    app.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const deadline = Date.now() + 30_000;
    while (!output.includes('listening on')) {
      if (Date.now() > deadline || app.exitCode !== null)
        throw new Error(`did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const call = async (path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    const { code } = sim.controls.login({ appid: sim.merchant.appId, user: `consumer-${example}` });
    const login = await call('/login', { code });
    expect(login.status).toBe(200);
    const openid = login.body.openid as string;

    const orderNo = `EX${example.startsWith('express') ? 'E' : 'F'}${Date.now()}`;
    const checkout = await call('/orders', { no: orderNo, totalFen: 1234, openid });
    expect(checkout.status).toBe(201);
    expect(Object.keys(checkout.body).sort()).toEqual([
      'nonceStr',
      'package',
      'paySign',
      'signType',
      'timeStamp',
    ]);

    const answer = sim.controls.requestPayment({
      ...(checkout.body as Record<string, string>),
      openid,
      appid: sim.merchant.appId,
    } as Parameters<typeof sim.controls.requestPayment>[0]);
    expect(answer).toEqual({ errMsg: 'requestPayment:ok' });

    let status = await call(`/orders/${orderNo}`);
    while (status.body.notified !== true && Date.now() < deadline + 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await call(`/orders/${orderNo}`);
    }
    expect(status.body).toEqual({ notified: true, paidAtWechat: true });
    expect(output).not.toMatch(/ERROR|refused a notification/);
  });
});
