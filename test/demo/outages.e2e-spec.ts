import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import Database from 'better-sqlite3';
import { OrderEntity } from '../../apps/demo/src/orders/order.entity';
import { ReconcilerService } from '../../apps/demo/src/reconciler/reconciler.service';
import {
  DemoHarness,
  isPostgres,
  type CheckoutBody,
  type OrderBody,
  type Shopper,
} from './harness';

const UNTIL_FIRST_CHECK_MS = 6_000;
/** Past WeChat's close retry and its 5-minute rule alike. */
const PAST_CLOSE_RETRY_MS = 6 * 60_000;

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  retryable: boolean;
  orderNo?: string;
  retryPath?: string;
}

describe('demo during a WeChat outage', () => {
  let harness: DemoHarness;
  let shopper: Shopper;

  beforeAll(async () => {
    harness = await DemoHarness.start({ link: true, closeOrderMinAgeMs: 0 });
    shopper = await harness.login();
  });

  afterEach(async () => {
    await harness.link.set('open');
    harness.simulator.controls.resetFaults();
  });

  afterAll(() => harness?.close());

  async function placeOrderExpectingFailure(): Promise<ErrorBody> {
    const res = await harness
      .http()
      .post('/api/orders')
      .set(shopper.auth)
      .send({ items: [{ productId: 2, quantity: 1 }] });
    expect(res.status).toBe(503);
    return res.body as ErrorBody;
  }

  async function payThroughRetryPath(body: ErrorBody): Promise<CheckoutBody> {
    expect(body.retryPath).toBe(`/api/orders/${body.orderNo}/pay`);
    const retry = await harness
      .http()
      .post(body.retryPath as string)
      .set(shopper.auth)
      .expect(200);
    return retry.body as CheckoutBody;
  }

  it('answers a refused connection at unifiedorder with the order number and a retry path that pays it', async () => {
    await harness.link.set('refuse');
    const body = await placeOrderExpectingFailure();

    expect(body).toMatchObject({ statusCode: 503, error: 'TRANSPORT', retryable: true });
    expect(body.orderNo).toMatch(/^\d{24}$/);
    expect(await harness.orderRow(body.orderNo as string)).toMatchObject({
      status: 'UNPAID',
      prepayId: null,
    });

    await harness.link.set('open');
    const checkout = await payThroughRetryPath(body);
    expect(checkout.orderNo).toBe(body.orderNo);
    expect(harness.payAtWechat(shopper, checkout.payParams).errMsg).toBe('requestPayment:ok');
    await harness.waitForStatus(checkout.orderNo, 'PAID');
    expect(await harness.fulfilments(checkout.orderNo)).toHaveLength(1);
  });

  it('answers a prepay_id that could not be saved with a retry path, and the retry pays the same WeChat order', async () => {
    const restore = await harness.failWrites(
      'orders',
      'UPDATE',
      'NEW.prepay_id IS NOT NULL AND OLD.prepay_id IS NULL',
    );
    let body: ErrorBody;
    try {
      body = await placeOrderExpectingFailure();
    } finally {
      await restore();
    }

    expect(body).toMatchObject({
      statusCode: 503,
      error: 'DATABASE_UNAVAILABLE',
      retryable: true,
    });
    const orderNo = body.orderNo as string;
    const atWechat = harness.wechatOrder(orderNo);
    expect(atWechat.tradeState).toBe('NOTPAY');
    expect((await harness.orderRow(orderNo)).prepayId).toBeNull();

    const checkout = await payThroughRetryPath(body);
    expect(checkout.payParams.package).toBe(`prepay_id=${atWechat.prepayId}`);
    expect((await harness.orderRow(orderNo)).prepayId).toBe(atWechat.prepayId);
    expect(harness.payAtWechat(shopper, checkout.payParams).errMsg).toBe('requestPayment:ok');
    await harness.waitForStatus(orderNo, 'PAID');
    expect(await harness.fulfilments(orderNo)).toHaveLength(1);
  });

  it('records a cancel WeChat cannot be reached for, answers it as pending, and closes the order later', async () => {
    const checkout = await harness.placeOrder(shopper);
    await harness.link.set('refuse');

    const cancel = await harness
      .http()
      .post(`/api/orders/${checkout.orderNo}/cancel`)
      .set(shopper.auth);

    expect(cancel.status).toBe(200);
    expect(cancel.body as OrderBody).toMatchObject({ status: 'UNPAID', cancelRequested: true });
    expect((await harness.orderRow(checkout.orderNo)).cancelRequestedAt).toEqual(
      expect.any(Number),
    );
    expect(harness.wechatOrder(checkout.orderNo).tradeState).toBe('NOTPAY');

    await harness.link.set('open');
    harness.advanceClocks(PAST_CLOSE_RETRY_MS);
    const summary = await harness.get(ReconcilerService).runOnce();

    expect(summary.outcomes.closed).toBeGreaterThanOrEqual(1);
    expect(harness.wechatOrder(checkout.orderNo)).toMatchObject({
      tradeState: 'CLOSED',
      closedBy: 'closeorder',
    });
    expect(await harness.getOrder(shopper, checkout.orderNo)).toMatchObject({ status: 'CLOSED' });
    expect(harness.payAtWechat(shopper, checkout.payParams).errMsg).toBe(
      'requestPayment:fail 订单已关闭',
    );
  });
});

describe('demo reconciler against a WeChat that never answers', () => {
  const LEASE_MS = 3_000;
  let harness: DemoHarness;

  beforeAll(async () => {
    harness = await DemoHarness.start({
      link: true,
      env: {
        RECONCILER_LEASE_MS: String(LEASE_MS),
        RECONCILER_CONCURRENCY: '1',
        WECHAT_CONNECT_TIMEOUT_MS: '500',
      },
    });
  });

  afterAll(() => harness?.close());

  it('ends every pass before its lease does, leaving the orders it did not reach for later', async () => {
    const shopper = await harness.login();
    const orderNos: string[] = [];
    for (let i = 0; i < 3; i++) orderNos.push((await harness.placeOrder(shopper)).orderNo);
    harness.advanceClocks(UNTIL_FIRST_CHECK_MS);
    await harness.link.set('hang');

    const startedAt = Date.now();
    const summary = await harness.get(ReconcilerService).runOnce();
    const elapsedMs = Date.now() - startedAt;

    expect(summary.claimed).toBe(3);
    expect(elapsedMs).toBeLessThan(LEASE_MS);
    expect(summary.durationMs).toBeLessThan(LEASE_MS);
    expect(summary.outcomes.error).toBeGreaterThanOrEqual(1);
    expect(summary.outcomes.error + summary.outcomes.deferred).toBe(3);
    const rows = await harness.dataSource.getRepository(OrderEntity).find();
    expect(rows.map((r) => r.status)).toEqual(['UNPAID', 'UNPAID', 'UNPAID']);

    // Once WeChat answers again, the orders come due and are checked.
    await harness.link.set('open');
    harness.advanceClocks(10 * 60_000);
    const next = await harness.get(ReconcilerService).runOnce();
    expect(next.claimed).toBe(3);
    expect(next.outcomes.error).toBe(0);
  }, 30_000);
});

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

const DATABASE_UNAVAILABLE = {
  statusCode: 503,
  error: 'DATABASE_UNAVAILABLE',
  retryable: true,
};

(isPostgres ? describe : describe.skip)('demo when PostgreSQL drops every connection', () => {
  let harness: DemoHarness;
  let admin: Client;

  beforeAll(async () => {
    harness = await DemoHarness.start();
    const url = new URL(harness.database.url);
    url.pathname = '/postgres';
    admin = new Client({ connectionString: url.toString() });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await harness?.close();
  });

  it('answers 503 retryable, never 500, logs no stack, and serves the next request', async () => {
    const shoppers = await Promise.all(Array.from({ length: 4 }, () => harness.login()));
    const errors = jest.spyOn(Logger.prototype, 'error');
    const statuses: number[] = [];
    const unavailable: unknown[] = [];
    let running = true;

    const client = async (shopper: Shopper) => {
      while (running) {
        for (const call of [
          harness.http().get('/api/orders').set(shopper.auth),
          harness
            .http()
            .post('/api/orders')
            .set(shopper.auth)
            .send({ items: [{ productId: 5, quantity: 1 }] }),
        ]) {
          const res = await call;
          statuses.push(res.status);
          if (res.status === 503) unavailable.push(res.body);
        }
      }
    };
    const terminate = async () => {
      const name = databaseName(harness.database.url);
      for (let round = 0; round < 20; round++) {
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        );
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      running = false;
    };

    try {
      await Promise.all([...shoppers.map(client), terminate()]);
    } finally {
      running = false;
    }
    // Connections the pool held while idle die with the rest; let it notice before the next call.
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(statuses.filter((s) => s >= 500 && s !== 503)).toEqual([]);
    expect(statuses.filter((s) => s !== 200 && s !== 201 && s !== 503)).toEqual([]);
    expect(unavailable.length).toBeGreaterThan(0);
    for (const body of unavailable) expect(body).toMatchObject(DATABASE_UNAVAILABLE);
    expect(errors).not.toHaveBeenCalled();
    errors.mockRestore();

    const next = await harness
      .http()
      .post('/api/orders')
      .set(shoppers[0].auth)
      .send({ items: [{ productId: 5, quantity: 1 }] });
    expect(next.status).toBe(201);
    await harness.http().get('/api/orders').set(shoppers[0].auth).expect(200);
  }, 30_000);
});

(isPostgres ? describe.skip : describe)('demo when SQLite is locked by another writer', () => {
  let harness: DemoHarness;

  beforeAll(async () => {
    harness = await DemoHarness.start();
  });

  afterAll(() => harness?.close());

  it('answers 503 retryable once the busy timeout passes, and serves the next request', async () => {
    const shopper = await harness.login();
    const other = new Database(harness.database.url.replace(/^sqlite:/, ''));
    const errors = jest.spyOn(Logger.prototype, 'error');
    try {
      other.exec('BEGIN IMMEDIATE');
      const res = await harness
        .http()
        .post('/api/orders')
        .set(shopper.auth)
        .send({ items: [{ productId: 5, quantity: 1 }] });
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject(DATABASE_UNAVAILABLE);
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }
    expect(errors).not.toHaveBeenCalled();
    errors.mockRestore();

    await harness
      .http()
      .post('/api/orders')
      .set(shopper.auth)
      .send({ items: [{ productId: 5, quantity: 1 }] })
      .expect(201);
  }, 20_000);
});
