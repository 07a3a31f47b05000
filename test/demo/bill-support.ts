import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseBeijingTime } from 'nestjs-wechat-pay-v2/protocol';
import { BillDiscrepancyEntity } from '../../apps/demo/src/bills/bill-discrepancy.entity';
import { beijingDate, DAY_MS } from '../../apps/demo/src/bills/bill-date';
import { RefundEntity, type RefundStatus } from '../../apps/demo/src/refunds/refund.entity';
import { SimClient } from '../simulator-support';
import { DemoHarness, eventually, type CheckoutBody, type Shopper } from './harness';

export const ADMIN_TOKEN = 'bill-e2e-admin-token-0123456789';
export const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

/** A harness with the admin API on and the daily job's own timer off (tests call runOnce). */
export function startBillHarness(): Promise<DemoHarness> {
  return DemoHarness.start({
    env: { ADMIN_TOKEN, BILL_RECONCILE_ENABLED: 'off' },
  });
}

/** The simulator's Beijing date now. */
export function simulatorDate(harness: DemoHarness): string {
  return beijingDate(harness.simulator.controls.now().getTime());
}

/** Moves both clocks forward to a Beijing time on the simulator clock (yyyyMMddHHmmss). */
export function moveClocksTo(harness: DemoHarness, beijing: string): void {
  const target = (parseBeijingTime(beijing) as Date).getTime();
  const ms = target - harness.simulator.controls.now().getTime();
  if (ms < 0) throw new Error(`${beijing} is in the simulator's past`);
  harness.advanceClocks(ms);
}

/** Starts the next Beijing day at 10:00 on both clocks and returns its date: a day of its own for a test. */
export function nextTradingDay(harness: DemoHarness): string {
  const date = beijingDate(harness.simulator.controls.now().getTime() + DAY_MS);
  moveClocksTo(harness, `${date}100000`);
  return date;
}

/** Moves both clocks to 09:30 the day after `date`: WeChat has made that day's bill. */
export function billReadyFor(harness: DemoHarness, date: string): void {
  const next = beijingDate((parseBeijingTime(`${date}120000`) as Date).getTime() + DAY_MS);
  moveClocksTo(harness, `${next}093000`);
}

/** Places an order and pays it at WeChat; waits for the notification to settle it, unless asked not to. */
export async function paidOrder(
  harness: DemoHarness,
  shopper: Shopper,
  options: { notified?: boolean } = {},
): Promise<CheckoutBody> {
  const checkout = await harness.placeOrder(shopper);
  expect(harness.payAtWechat(shopper, checkout.payParams).errMsg).toBe('requestPayment:ok');
  if (options.notified ?? true) await harness.waitForStatus(checkout.orderNo, 'PAID');
  return checkout;
}

/** A refund made at the simulator through its own refund API (mutual TLS), not through the shop; waits for SUCCESS. */
export async function refundAtWechat(
  harness: DemoHarness,
  checkout: CheckoutBody,
  refundNo: string,
  refundFen: number,
): Promise<string> {
  const sim = harness.simulator;
  const [ca, cert, key] = await Promise.all(
    [sim.caPem, sim.certificate.certPem, sim.certificate.keyPem].map((p) => readFile(p)),
  );
  const client = new SimClient(sim.tlsBaseUrl, sim.merchant, 'MD5', { ca, cert, key });
  const reply = await client.call('/secapi/pay/refund', {
    out_trade_no: checkout.orderNo,
    out_refund_no: refundNo,
    total_fee: checkout.amount,
    refund_fee: refundFen,
  });
  expect(reply.fields.result_code).toBe('SUCCESS');
  const done = await eventually(async () => {
    const view = sim.controls.refund(refundNo);
    return view?.status === 'SUCCESS' && view;
  }, `refund ${refundNo} to succeed at the simulator`);
  return done.refundId;
}

/** A refunds row written straight into the table, standing for a refund the shop recorded. */
export async function recordRefundHere(
  harness: DemoHarness,
  checkout: CheckoutBody,
  row: { refundNo: string; amountFen: number; status: RefundStatus; refundId?: string | null },
): Promise<void> {
  const order = await harness.orderRow(checkout.orderNo);
  const now = harness.clock.now();
  await harness.dataSource.getRepository(RefundEntity).insert({
    refundNo: row.refundNo,
    orderId: order.id,
    orderNo: order.orderNo,
    totalFen: order.amountFen,
    amountFen: row.amountFen,
    reason: null,
    status: row.status,
    refundId: row.refundId ?? null,
    refundChannel: null,
    recvAccount: null,
    successAt: row.status === 'SUCCESS' ? now : null,
    nextCheckAt: null,
    checkAttempts: 0,
    leaseOwner: null,
    leaseUntil: null,
    lastError: null,
    createdAt: now,
    updatedAt: now,
  });
}

/** The stored discrepancies of a date, oldest first. */
export function discrepancies(
  harness: DemoHarness,
  date: string,
): Promise<BillDiscrepancyEntity[]> {
  return harness.dataSource
    .getRepository(BillDiscrepancyEntity)
    .find({ where: { billDate: date }, order: { id: 'ASC' } });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const ROOT = join(__dirname, '..', '..');

/**
 * `npm run bill:reconcile` as a child process (the same ts-node command) on the harness's
 * database. `shop` (default): SIMULATOR=off and the WECHAT_* settings of a shop pointed at the
 * harness's simulator. `default`: nothing but DATABASE_URL and SIMULATOR_PORT, as next to a running
 * `npm start` whose embedded simulator listens on that port.
 */
export function runCli(
  harness: DemoHarness,
  args: string[],
  more: NodeJS.ProcessEnv = {},
  config: 'shop' | 'default' = 'shop',
): Promise<CliResult> {
  const merchant = harness.simulator.merchant;
  const base: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: harness.database.url,
  };
  const shop: NodeJS.ProcessEnv = {
    NODE_ENV: 'production',
    SIMULATOR: 'off',
    WECHAT_APP_ID: merchant.appId,
    WECHAT_APP_SECRET: merchant.appSecret,
    WECHAT_MCH_ID: merchant.mchId,
    WECHAT_API_KEY: merchant.apiKey,
    WECHAT_SIGN_TYPE: 'HMAC-SHA256',
    WECHAT_NOTIFY_URL: 'http://127.0.0.1:9/wechat-pay/notify',
    WECHAT_PAY_BASE_URL: harness.simulator.baseUrl,
    WECHAT_API_BASE_URL: harness.simulator.baseUrl,
    SESSION_SECRET: 'bill-cli-e2e-session-secret-0123456789',
  };
  const env: NodeJS.ProcessEnv =
    config === 'shop'
      ? { ...base, ...shop, ...more }
      : { ...base, SIMULATOR_PORT: String(harness.simulator.port), ...more };
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        'apps/demo/src/bills/cli.ts',
        ...args,
      ],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
