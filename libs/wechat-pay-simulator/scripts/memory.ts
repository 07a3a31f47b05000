/**
 * Memory of a standalone simulator that takes many paid orders: its resident set size (RSS, read
 * from /proc, so Linux only) after every batch, printed as a table. A measurement, not a test: run
 * it before and after a change and compare.
 *
 *   node -r ts-node/register/transpile-only -r tsconfig-paths/register \
 *     libs/wechat-pay-simulator/scripts/memory.ts [orders=12000] [maxOrders]
 *
 * The simulator runs in its own process, started from SIMULATOR_ENTRY (default: this package's
 * src/main.ts through ts-node), so the load generator's memory is not counted. Each order is a
 * signed unifiedorder, a payment through POST /__simulator/request-payment and a notification to a
 * local merchant endpoint that fails every third send, so a third of the orders are sent twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildXml, createNonce, parseXml, sign } from 'nestjs-wechat-pay-v2/protocol';
import { TEST_MERCHANT } from 'wechat-pay-v2-simulator';

const ORDERS = Number(process.argv[2] ?? 12_000);
const MAX_ORDERS = process.argv[3];
const BATCH = 2000;
const CONCURRENCY = 16;
const ENTRY = process.env.SIMULATOR_ENTRY ?? join(__dirname, '..', 'src', 'main.ts');

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  return kib / 1024;
}

function startChild(): Promise<{ child: ChildProcess; baseUrl: string }> {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', ENTRY],
    {
      cwd: join(__dirname, '..', '..', '..'),
      env: {
        ...process.env,
        SIMULATOR_PORT: '0',
        SIMULATOR_TIME_SCALE: '0.001',
        ...(MAX_ORDERS !== undefined && { SIMULATOR_MAX_ORDERS: MAX_ORDERS }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (url) resolve({ child, baseUrl: url });
    });
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
}

async function merchantEndpoint(): Promise<{ url: string; close(): void }> {
  let seen = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen += 1;
      const ok = seen % 3 !== 0;
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      res.end(buildXml({ return_code: ok ? 'SUCCESS' : 'FAIL', return_msg: ok ? 'OK' : 'busy' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/notify`,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}

async function placeAndPay(baseUrl: string, notifyUrl: string, n: number): Promise<void> {
  const m = TEST_MERCHANT;
  const fields: Record<string, string | number> = {
    appid: m.appId,
    mch_id: m.mchId,
    nonce_str: createNonce(),
    body: 'memory check',
    out_trade_no: `MEM${process.pid}${String(n).padStart(8, '0')}`,
    total_fee: 100 + (n % 900),
    spbill_create_ip: '127.0.0.1',
    notify_url: notifyUrl,
    trade_type: 'JSAPI',
    openid: 'oMemoryCheck00000000000000001',
  };
  const res = await fetch(`${baseUrl}/pay/unifiedorder`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml' },
    body: buildXml({ ...fields, sign: sign(fields, m.apiKey, 'MD5') }),
  });
  const reply = await parseXml(await res.text());
  if (reply.result_code !== 'SUCCESS') throw new Error(`unifiedorder: ${JSON.stringify(reply)}`);
  const pay = {
    appId: m.appId,
    timeStamp: String(Math.floor(Date.now() / 1000)),
    nonceStr: createNonce(),
    package: `prepay_id=${reply.prepay_id}`,
    signType: 'MD5',
  };
  // appId is signed but not passed to wx.requestPayment.
  const answer = await fetch(`${baseUrl}/__simulator/request-payment`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      timeStamp: pay.timeStamp,
      nonceStr: pay.nonceStr,
      package: pay.package,
      signType: pay.signType,
      paySign: sign(pay, m.apiKey, 'MD5'),
      openid: fields.openid,
    }),
  });
  const { errMsg } = (await answer.json()) as { errMsg: string };
  if (errMsg !== 'requestPayment:ok') throw new Error(errMsg);
}

async function held(baseUrl: string): Promise<number> {
  const stats = await fetch(`${baseUrl}/__simulator/stats`);
  if (stats.ok) return ((await stats.json()) as { orders: number }).orders;
  const orders = await fetch(`${baseUrl}/__simulator/orders`);
  return ((await orders.json()) as unknown[]).length;
}

async function sample(done: number, pid: number, baseUrl: string): Promise<string> {
  const count = await held(baseUrl);
  return `${String(done).padStart(7)}  ${rssMiB(pid).toFixed(1).padStart(8)}  ${String(count).padStart(11)}`;
}

async function main(): Promise<void> {
  const endpoint = await merchantEndpoint();
  const { child, baseUrl } = await startChild();
  const pid = child.pid as number;
  process.stdout.write(
    `orders: ${ORDERS}, SIMULATOR_MAX_ORDERS: ${MAX_ORDERS ?? '(default)'}, entry: ${ENTRY}\n`,
  );
  process.stdout.write(' orders   RSS MiB  orders held\n');
  process.stdout.write(`${await sample(0, pid, baseUrl)}\n`);
  let next = 0;
  let done = 0;
  while (done < ORDERS) {
    const batchEnd = Math.min(done + BATCH, ORDERS);
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < batchEnd) {
          next += 1;
          await placeAndPay(baseUrl, endpoint.url, next);
        }
      }),
    );
    done = batchEnd;
    // Let the batch's notifications (and their one retry) finish before sampling.
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.stdout.write(`${await sample(done, pid, baseUrl)}\n`);
  }
  child.removeAllListeners('exit');
  child.kill('SIGTERM');
  endpoint.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
