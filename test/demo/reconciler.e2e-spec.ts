import {
  WechatPayConfig,
  WechatPayTransport,
  type TransportRequestOptions,
} from 'nestjs-wechat-pay-v2';
import type { TestingModuleBuilder } from '@nestjs/testing';
import { BetterSqlite3QueryRunner } from 'typeorm/driver/better-sqlite3/BetterSqlite3QueryRunner';
import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { OrderEntity } from '../../apps/demo/src/orders/order.entity';
import { FulfilmentEntity } from '../../apps/demo/src/payments/fulfilment.entity';
import { PaymentsService } from '../../apps/demo/src/payments/payments.service';
import {
  ReconcilerService,
  type ReconcileSummary,
} from '../../apps/demo/src/reconciler/reconciler.service';
import { DemoHarness, isPostgres, type DemoInstance } from './harness';

const UNTIL_FIRST_CHECK_MS = 6_000;

/** Counts the orderquery calls an app makes, per out_trade_no, across every instance sharing the map. */
class CountingTransport extends WechatPayTransport {
  constructor(
    config: WechatPayConfig,
    private readonly orderQueries: Map<string, number>,
  ) {
    super(config);
  }

  override postXml(url: string, body: string, options?: TransportRequestOptions) {
    if (url.endsWith('/pay/orderquery')) {
      const outTradeNo = /<out_trade_no>(?:<!\[CDATA\[)?([^<\]]*)/.exec(body)?.[1] ?? '';
      this.orderQueries.set(outTradeNo, (this.orderQueries.get(outTradeNo) ?? 0) + 1);
    }
    return super.postXml(url, body, options);
  }
}

function countingOrderQueries(orderQueries: Map<string, number>) {
  return (builder: TestingModuleBuilder) =>
    builder.overrideProvider(WechatPayTransport).useFactory({
      factory: (config: WechatPayConfig) => new CountingTransport(config, orderQueries),
      inject: [WechatPayConfig],
    });
}

(isPostgres ? describe : describe.skip)(
  'demo reconciler, two instances on one PostgreSQL database',
  () => {
    const ORDERS = 200;
    const orderQueries = new Map<string, number>();
    let harness: DemoHarness;
    let second: DemoInstance;

    beforeAll(async () => {
      harness = await DemoHarness.start({}, { override: countingOrderQueries(orderQueries) });
      second = await harness.addInstance({ override: countingOrderQueries(orderQueries) });
    });

    afterAll(() => harness?.close());

    it('queries and settles each of 200 stale paid orders exactly once', async () => {
      const shopper = await harness.login();
      harness.simulator.controls.setFaults({ dropNotificationRate: 1 });
      const orderNos: string[] = [];
      for (let i = 0; i < ORDERS; i += 20) {
        const batch = await Promise.all(
          Array.from({ length: 20 }, () => harness.placeOrder(shopper)),
        );
        for (const checkout of batch) {
          expect(harness.payAtWechat(shopper, checkout.payParams).errMsg).toBe('requestPayment:ok');
          orderNos.push(checkout.orderNo);
        }
      }
      expect(orderQueries.size).toBe(0);
      harness.advanceClocks(UNTIL_FIRST_CHECK_MS);

      const paidBy = new Map<string, number>();
      for (const instance of harness.instances) {
        const payments = instance.app.get(PaymentsService);
        const settle = payments.settle.bind(payments);
        jest.spyOn(payments, 'settle').mockImplementation(async (evidence, source, record) => {
          const outcome = await settle(evidence, source, record);
          if (outcome === 'PAID')
            paidBy.set(evidence.outTradeNo, (paidBy.get(evidence.outTradeNo) ?? 0) + 1);
          return outcome;
        });
      }

      const reconcilers = [harness.primary, second].map((i) => i.app.get(ReconcilerService));
      const claimed = [0, 0];
      for (let round = 0; round < 20; round++) {
        const summaries: ReconcileSummary[] = await Promise.all(
          reconcilers.map((r) => r.runOnce()),
        );
        summaries.forEach((s, i) => (claimed[i] += s.claimed));
        expect(summaries.map((s) => s.outcomes.error)).toEqual([0, 0]);
        if (summaries.every((s) => s.claimed === 0)) break;
      }

      expect(claimed[0]).toBeGreaterThan(0);
      expect(claimed[1]).toBeGreaterThan(0);
      expect(claimed[0] + claimed[1]).toBe(ORDERS);
      expect([...orderQueries.keys()].sort()).toEqual([...orderNos].sort());
      expect([...orderQueries.values()].every((n) => n === 1)).toBe(true);
      expect(paidBy.size).toBe(ORDERS);
      expect([...paidBy.values()].every((n) => n === 1)).toBe(true);
      const orders = harness.dataSource.getRepository(OrderEntity);
      expect(await orders.countBy({ status: 'PAID', paidVia: 'reconciler' })).toBe(ORDERS);
      expect(await orders.countBy({ status: 'UNPAID' })).toBe(0);
      expect(await harness.dataSource.getRepository(FulfilmentEntity).count()).toBe(ORDERS);
    }, 60_000);
  },
);

describe('demo reconciler selection', () => {
  let harness: DemoHarness;

  beforeAll(async () => {
    harness = await DemoHarness.start();
  });

  afterAll(() => harness?.close());

  it('reads the due orders through the partial index IDX_orders_due', async () => {
    const shopper = await harness.login();
    for (let i = 0; i < 3; i++) await harness.placeOrder(shopper);
    harness.advanceClocks(UNTIL_FIRST_CHECK_MS);
    const runner = isPostgres ? PostgresQueryRunner : BetterSqlite3QueryRunner;
    const queries = jest.spyOn(runner.prototype, 'query');

    const summary = await harness.get(ReconcilerService).runOnce();

    expect(summary.claimed).toBe(3);
    const selection = queries.mock.calls.find(
      ([sql]) => /^SELECT/i.test(sql) && sql.includes('next_check_at') && /LIMIT/i.test(sql),
    );
    queries.mockRestore();
    expect(selection).toBeDefined();
    const [sql, parameters] = selection as [string, unknown[]];

    let plan: string;
    if (isPostgres) {
      const qr = harness.dataSource.createQueryRunner();
      try {
        await qr.startTransaction();
        // A table this small is cheaper to scan whole; the question is whether the index can
        // serve the query at all, which it cannot if the predicate does not match the index's.
        await qr.query('SET LOCAL enable_seqscan = off');
        const rows = (await qr.query(`EXPLAIN ${sql}`, parameters)) as Array<{
          'QUERY PLAN': string;
        }>;
        plan = rows.map((r) => r['QUERY PLAN']).join('\n');
        await qr.rollbackTransaction();
      } finally {
        await qr.release();
      }
    } else {
      const rows = (await harness.dataSource.query(
        `EXPLAIN QUERY PLAN ${sql}`,
        parameters,
      )) as Array<{ detail: string }>;
      plan = rows.map((r) => r.detail).join('\n');
    }
    expect(plan).toMatch(/IDX_orders_due/);
  });
});
