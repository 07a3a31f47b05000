import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import { Client } from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import type { PayParams, SignType } from 'nestjs-wechat-pay-v2';
import {
  startSimulator,
  TEST_MERCHANT,
  type PaymentOutcome,
  type RequestPaymentAnswer,
  type RunningSimulator,
  type SimulatedOrderView,
  type SimulatorOptions,
} from 'wechat-pay-v2-simulator';
import { AppModule } from '../../apps/demo/src/app.module';
import { configureDemoApp } from '../../apps/demo/src/bootstrap';
import { Clock } from '../../apps/demo/src/clock';
import { loadDemoConfig, type DemoConfig } from '../../apps/demo/src/config/demo.config';
import { OrderEntity } from '../../apps/demo/src/orders/order.entity';
import { FulfilmentEntity } from '../../apps/demo/src/payments/fulfilment.entity';
import { WechatLink } from './wechat-link';

export const isPostgres = /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '');

/** The demo's clock for tests: real time plus an offset that only moves forward. */
export class TestClock extends Clock {
  private offsetMs = 0;

  override now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** A database created for one suite and dropped after it. */
export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * With DATABASE_URL=postgres://..., a fresh database on that server; otherwise a fresh SQLite file
 * in the temporary directory. Suites never share one, so none assumes more than its own rows.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const suffix = randomBytes(6).toString('hex');
  if (isPostgres) {
    const serverUrl = process.env.DATABASE_URL as string;
    const name = `demo_e2e_${suffix}`;
    await withAdmin(serverUrl, (admin) => admin.query(`CREATE DATABASE "${name}"`));
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      drop: () =>
        withAdmin(serverUrl, async (admin) => {
          // A closed pool ends its connections without waiting for the server to let them go;
          // forcing the drop while they linger only makes the pool report the termination.
          await eventually(async () => {
            const { rows } = await admin.query<{ n: number }>(
              'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
              [name],
            );
            return rows[0].n === 0;
          }, `connections to ${name} to end`).catch(() => undefined);
          await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        }),
    };
  }
  const file = join(tmpdir(), `demo-e2e-${suffix}.sqlite`);
  return {
    url: `sqlite:${file}`,
    drop: async () => {
      await Promise.all(['', '-wal', '-shm'].map((end) => rm(`${file}${end}`, { force: true })));
    },
  };
}

/**
 * Connects to the server's `postgres` maintenance database, so the database named in DATABASE_URL
 * need not exist: only the server and the credentials are taken from it.
 */
async function withAdmin(serverUrl: string, work: (admin: Client) => Promise<unknown>) {
  const url = new URL(serverUrl);
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await work(admin);
  } finally {
    await admin.end();
  }
}

/** A port nobody listens on right now, so the notify_url can be known before the app exists. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls an async probe until it returns something other than undefined or false. */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 5000,
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface DemoHarnessOptions {
  /** The shop's WECHAT_SIGN_TYPE. Default HMAC-SHA256. */
  signType?: SignType;
  /** The simulator's closeorder minimum age. Default: the simulator's 5 minutes. */
  closeOrderMinAgeMs?: number;
  /** ORDER_QUERY_AFTER_MS. Default 50. */
  orderQueryAfterMs?: number;
  /** More environment for every instance (RATE_LIMIT_*, API_DOCS...), applied last. */
  env?: Record<string, string>;
  /** Route the shop's WeChat calls through a WechatLink the test can cut (harness.link). */
  link?: boolean;
  /**
   * Refunds: start the simulator's HTTPS listener and give every instance its merchant
   * certificate (WECHAT_CERT_P12), CA (WECHAT_CA_PEM) and URL (WECHAT_SECAPI_BASE_URL).
   */
  tls?: boolean;
  /** ADMIN_TOKEN of every instance; none: the admin routes are off. */
  adminToken?: string;
  /** More simulator options (refundDelayMs, faults...). */
  simulator?: Partial<SimulatorOptions>;
}

/** Limits no test reaches unless it sets its own: suites place hundreds of orders as one user. */
const UNREACHED_RATE_LIMITS = {
  RATE_LIMIT_LOGIN_PER_IP: '1000000',
  RATE_LIMIT_ORDERS_PER_USER: '1000000',
  RATE_LIMIT_ORDERS_PER_IP: '1000000',
};

export interface InstanceOptions {
  /** Adjusts the testing module before it compiles (overriding a provider, say). */
  override?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
  /** Environment of this instance only, applied after the harness's; undefined removes a name. */
  env?: Record<string, string | undefined>;
}

/** One running copy of the demo app. */
export interface DemoInstance {
  readonly app: INestApplication;
  readonly config: DemoConfig;
  readonly dataSource: DataSource;
  /** supertest against this instance. */
  http(): ReturnType<typeof request>;
}

/** A user logged in through wx.login (simulated) and POST /api/auth/login. */
export interface Shopper {
  openid: string;
  token: string;
  auth: { Authorization: string };
}

export interface OrderBody {
  orderNo: string;
  amount: number;
  status: 'UNPAID' | 'PAID' | 'PARTIALLY_REFUNDED' | 'REFUNDED' | 'CLOSED';
  description: string;
  createdAt: string;
  expiresAt: string;
  paidAt?: string;
  cancelRequested?: boolean;
  items: Array<{
    productId: number;
    name: string;
    unitPriceFen: number;
    quantity: number;
    lineTotalFen: number;
  }>;
  refundedFen?: number;
  refunds?: Array<{ amountFen: number; status: string; createdAt: string; successAt?: string }>;
}

export interface CheckoutBody extends OrderBody {
  payParams: PayParams;
}

export interface OrderLine {
  productId: number;
  quantity: number;
}

/**
 * A simulator, a database and one or more instances of the demo app on 127.0.0.1 wired to them,
 * with the reconciler's timer off (tests call runOnce) and a clock tests can move.
 */
export class DemoHarness {
  readonly instances: DemoInstance[] = [];
  private simulatorOffsetMs = 0;
  private demoOffsetMs = 0;

  private linkToWechat?: WechatLink;

  private constructor(
    readonly simulator: RunningSimulator,
    readonly database: TestDatabase,
    readonly clock: TestClock,
    private readonly options: DemoHarnessOptions,
  ) {}

  /** The cuttable link to WeChat, when started with `link: true`. */
  get link(): WechatLink {
    if (!this.linkToWechat) throw new Error('start the harness with { link: true }');
    return this.linkToWechat;
  }

  static async start(
    options: DemoHarnessOptions = {},
    instance: InstanceOptions = {},
  ): Promise<DemoHarness> {
    const database = await createTestDatabase();
    let simulator: RunningSimulator | undefined;
    let harness: DemoHarness | undefined;
    try {
      simulator = await startSimulator({
        merchants: [{ ...TEST_MERCHANT }],
        timeScale: 0.001,
        closeOrderMinAgeMs: options.closeOrderMinAgeMs,
        ...options.simulator,
      });
      harness = new DemoHarness(simulator, database, new TestClock(), options);
      if (options.link) harness.linkToWechat = await WechatLink.start(simulator.baseUrl);
      await harness.addInstance(instance);
      return harness;
    } catch (error) {
      for (const started of harness?.instances ?? []) await started.app.close();
      await harness?.linkToWechat?.close();
      await simulator?.stop();
      await database.drop();
      throw error;
    }
  }

  /** The first instance: the one whose notify_url every order carries. */
  get primary(): DemoInstance {
    return this.instances[0];
  }

  get dataSource(): DataSource {
    return this.primary.dataSource;
  }

  http(): ReturnType<typeof request> {
    return this.primary.http();
  }

  get<T>(token: abstract new (...args: never[]) => T): T {
    return this.primary.app.get(token);
  }

  /** Starts another instance of the app on the same database, simulator and clock. */
  async addInstance(options: InstanceOptions = {}): Promise<DemoInstance> {
    const port = await freePort();
    const merchant = this.simulator.merchant;
    const wechatUrl = this.linkToWechat?.url ?? this.simulator.baseUrl;
    const config = loadDemoConfig(
      {
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: this.database.url,
        WECHAT_SIGN_TYPE: this.options.signType ?? 'HMAC-SHA256',
        WECHAT_PAY_BASE_URL: wechatUrl,
        WECHAT_API_BASE_URL: wechatUrl,
        SESSION_SECRET: 'demo-e2e-session-secret-0123456789',
        ORDER_QUERY_AFTER_MS: String(this.options.orderQueryAfterMs ?? 50),
        RECONCILER_ENABLED: 'off',
        // The daily bill job would schedule a real-time cron in every suite; bills.e2e-spec turns it on.
        BILL_RECONCILE_ENABLED: 'off',
        ...UNREACHED_RATE_LIMITS,
        ...(this.options.tls ? this.certificateEnv() : {}),
        ...(this.options.adminToken !== undefined ? { ADMIN_TOKEN: this.options.adminToken } : {}),
        ...this.options.env,
        ...options.env,
      },
      merchant,
      () => 'unused',
    );
    let builder = Test.createTestingModule({ imports: [AppModule.register(config)] })
      .overrideProvider(Clock)
      .useValue(this.clock);
    if (options.override) builder = options.override(builder);
    const moduleRef = await builder.compile();
    const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
    configureDemoApp(app, config);
    try {
      await app.listen(port, '127.0.0.1');
    } catch (error) {
      await app.close();
      throw error;
    }
    const instance: DemoInstance = {
      app,
      config,
      dataSource: app.get(DataSource),
      http: () => request(app.getHttpServer()),
    };
    this.instances.push(instance);
    return instance;
  }

  /** The simulator's own certificate, CA and TLS listener, as the demo's environment. */
  private certificateEnv(): Record<string, string> {
    return {
      WECHAT_CERT_P12: this.simulator.certificate.p12,
      WECHAT_CA_PEM: this.simulator.caPem,
      WECHAT_SECAPI_BASE_URL: this.simulator.tlsBaseUrl,
    };
  }

  /**
   * Moves the demo clock and the simulator clock forward together, or by different amounts when a
   * test needs WeChat to lag behind the shop.
   */
  advanceClocks(ms: number, simulatorMs = ms): void {
    this.clock.advance(ms);
    this.demoOffsetMs += ms;
    this.simulator.controls.advanceClock(simulatorMs);
    this.simulatorOffsetMs += simulatorMs;
  }

  /** Brings whichever clock is behind level with the other. */
  alignClocks(): void {
    const gap = this.demoOffsetMs - this.simulatorOffsetMs;
    if (gap > 0) this.advanceClocks(0, gap);
    else if (gap < 0) this.advanceClocks(-gap, 0);
  }

  async login(user?: string): Promise<Shopper> {
    const grant = this.simulator.controls.login(user === undefined ? {} : { user });
    const res = await this.http().post('/api/auth/login').send({ code: grant.code }).expect(200);
    const token = (res.body as { token: string }).token;
    return { openid: grant.openid, token, auth: { Authorization: `Bearer ${token}` } };
  }

  async placeOrder(
    shopper: Shopper,
    items: OrderLine[] = [{ productId: 1, quantity: 1 }],
  ): Promise<CheckoutBody> {
    const res = await this.http().post('/api/orders').set(shopper.auth).send({ items });
    if (res.status !== 201) {
      throw new Error(`POST /api/orders answered ${res.status}: ${JSON.stringify(res.body)}`);
    }
    return res.body as CheckoutBody;
  }

  async getOrder(shopper: Shopper, orderNo: string): Promise<OrderBody> {
    const res = await this.http().get(`/api/orders/${orderNo}`).set(shopper.auth).expect(200);
    return res.body as OrderBody;
  }

  /** What the mini program does with the pay parameters: wx.requestPayment, answered by the simulator. */
  payAtWechat(
    shopper: Shopper,
    payParams: PayParams,
    outcome: PaymentOutcome = 'success',
  ): RequestPaymentAnswer {
    return this.simulator.controls.requestPayment({
      ...payParams,
      openid: shopper.openid,
      outcome,
    });
  }

  wechatOrder(orderNo: string): SimulatedOrderView {
    const order = this.simulator.controls.order(orderNo);
    if (!order) throw new Error(`the simulator has no order ${orderNo}`);
    return order;
  }

  orderRow(orderNo: string): Promise<OrderEntity> {
    return this.dataSource.getRepository(OrderEntity).findOneByOrFail({ orderNo });
  }

  fulfilments(orderNo: string): Promise<FulfilmentEntity[]> {
    return this.dataSource.getRepository(FulfilmentEntity).findBy({ orderNo });
  }

  /** Waits until the order's row has this status, and returns the row. */
  waitForStatus(orderNo: string, status: OrderEntity['status']): Promise<OrderEntity> {
    return eventually(async () => {
      const row = await this.orderRow(orderNo);
      return row.status === status && row;
    }, `order ${orderNo} to become ${status}`);
  }

  /** Waits until the simulator has had a SUCCESS reply to the order's notification. */
  waitForDelivery(orderNo: string): Promise<void> {
    return this.simulator.controls
      .waitForNotifications((all) =>
        all.some((a) => a.outTradeNo === orderNo && a.outcome === 'delivered'),
      )
      .then(() => undefined);
  }

  /**
   * Makes the database refuse matching writes, as a failing disk or a crash between two statements
   * would, until the returned function is called. `when` is a condition on NEW (and OLD for
   * updates), written the same way for SQLite and PostgreSQL.
   */
  async failWrites(
    table: string,
    event: 'INSERT' | 'UPDATE',
    when: string,
  ): Promise<() => Promise<void>> {
    const name = `fail_${table}_${randomBytes(4).toString('hex')}`;
    if (isPostgres) {
      await this.dataSource.query(
        `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS ` +
          `$$ BEGIN RAISE EXCEPTION 'write refused by the test'; END $$`,
      );
      await this.dataSource.query(
        `CREATE TRIGGER ${name} BEFORE ${event} ON ${table} FOR EACH ROW WHEN (${when}) ` +
          `EXECUTE FUNCTION ${name}()`,
      );
      return async () => {
        await this.dataSource.query(`DROP TRIGGER ${name} ON ${table}`);
        await this.dataSource.query(`DROP FUNCTION ${name}()`);
      };
    }
    await this.dataSource.query(
      `CREATE TRIGGER ${name} BEFORE ${event} ON ${table} FOR EACH ROW WHEN ${when} ` +
        `BEGIN SELECT RAISE(ABORT, 'write refused by the test'); END`,
    );
    return async () => {
      await this.dataSource.query(`DROP TRIGGER ${name}`);
    };
  }

  async close(): Promise<void> {
    for (const instance of this.instances.splice(0).reverse()) await instance.app.close();
    await this.linkToWechat?.close();
    await this.simulator.stop();
    await this.database.drop();
  }
}
