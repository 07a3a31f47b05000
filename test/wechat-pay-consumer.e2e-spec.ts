import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Both packages as strangers get them: `npm run build:lib` builds the library and the simulator,
 * each is packed, and both tarballs are installed into copies of examples/express-host and
 * examples/fastify-host (apps written the way the README says, the simulator as a dev
 * dependency the way a merchant's CI has it). Each example is type-checked with strict and
 * skipLibCheck off, started, and driven through one payment against the simulator started from
 * its installed bin. A broken exports map, a missing .d.ts, a bin that does not start or a
 * README snippet that stopped compiling fails here.
 */
const run = promisify(execFile);
const ROOT = join(__dirname, '..');
const PACKAGE_DIR = join(ROOT, 'dist/libs/wechat-pay');
const SIMULATOR_DIR = join(ROOT, 'dist/libs/wechat-pay-simulator');
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
let simulatorTarball: string;

async function pack(dir: string): Promise<string> {
  const packed = JSON.parse(
    await npm(['pack', '--json', '--pack-destination', workdir], dir),
  ) as Array<{
    filename: string;
  }>;
  return join(workdir, packed[0].filename);
}

/** The simulator started from an installed bin, as a merchant's CI starts it. */
interface BinSimulator {
  process: ChildProcess;
  baseUrl: string;
  merchant: { appId: string; mchId: string; apiKey: string; appSecret: string };
  control(path: string, body: unknown): Promise<Record<string, unknown>>;
}

async function startSimulatorBin(bin: string): Promise<BinSimulator> {
  const child = spawn(bin, ['--port', '0'], { env: { PATH: process.env.PATH } });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const deadline = Date.now() + 30_000;
  while (!/WECHAT_APP_SECRET=\S+\n/.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      throw new Error(`the simulator did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const value = (name: string): string => {
    const match = new RegExp(`${name}=(\\S+)`).exec(output);
    if (match === null) throw new Error(`the simulator did not print ${name}:\n${output}`);
    return match[1];
  };
  const baseUrl = (/listening on (\S+)/.exec(output) ?? [])[1] as string;
  return {
    process: child,
    baseUrl,
    merchant: {
      appId: value('WECHAT_APP_ID'),
      mchId: value('WECHAT_MCH_ID'),
      apiKey: value('WECHAT_API_KEY'),
      appSecret: value('WECHAT_APP_SECRET'),
    },
    async control(path, body) {
      const res = await fetch(`${baseUrl}/__simulator/${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as Record<string, unknown>;
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    },
  };
}

beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), 'wechat-pay-consumer-'));
  await run('npm', ['run', 'build:lib'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  tarball = await pack(PACKAGE_DIR);
  simulatorTarball = await pack(SIMULATOR_DIR);
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
      'examples/express-host/src/checkout.controller.ts',
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

describe.each(EXAMPLES)('examples/%s from the tarballs', (example) => {
  let dir: string;
  let sim: BinSimulator;
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
      devDependencies: Record<string, string>;
    };
    manifest.dependencies['nestjs-wechat-pay-v2'] = `file:${tarball}`;
    manifest.devDependencies['wechat-pay-v2-simulator'] = `file:${simulatorTarball}`;
    await writeFile(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
    await npm(['install', ...NPM_FLAGS], dir);
    sim = await startSimulatorBin(join(dir, 'node_modules/.bin/wechat-pay-v2-simulator'));
  });

  afterAll(() => {
    app?.kill('SIGTERM');
    sim?.process.kill('SIGTERM');
  });

  it('has the simulator installed from its tarball, not from this repository', async () => {
    const installed = JSON.parse(
      await readFile(join(dir, 'node_modules/wechat-pay-v2-simulator/package.json'), 'utf8'),
    ) as { name: string; bin: Record<string, string> };
    expect(installed.name).toBe('wechat-pay-v2-simulator');
    expect(Object.keys(installed.bin)).toEqual(['wechat-pay-v2-simulator']);
    const lock = await readFile(join(dir, 'package-lock.json'), 'utf8');
    expect(lock).toContain(simulatorTarball.split('/').pop() as string);
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

    const { code } = await sim.control('login', {
      appid: sim.merchant.appId,
      user: `consumer-${example}`,
    });
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

    const answer = await sim.control('request-payment', {
      ...(checkout.body as Record<string, string>),
      openid,
      appid: sim.merchant.appId,
    });
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
