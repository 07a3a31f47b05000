import { SchedulerRegistry } from '@nestjs/schedule';
import { beijingDate, beijingDayStart, DAY_MS } from '../../apps/demo/src/bills/bill-date';
import { BillReconcileJob } from '../../apps/demo/src/bills/bill-reconcile.job';
import {
  BILL_LEASE_MS,
  BillReconcileService,
  BillRunBusyError,
} from '../../apps/demo/src/bills/bill-reconcile.service';
import { BillRunEntity } from '../../apps/demo/src/bills/bill-run.entity';
import type { BillRunView, DiscrepancyView } from '../../apps/demo/src/bills/bills.dto';
import { DEMO_CONFIG } from '../../apps/demo/src/config/demo.config';
import { OrderEntity } from '../../apps/demo/src/orders/order.entity';
import {
  admin,
  billReadyFor,
  discrepancies,
  moveClocksTo,
  nextTradingDay,
  paidOrder,
  recordRefundHere,
  refundAtWechat,
  runCli,
  simulatorDate,
  startBillHarness,
} from './bill-support';
import {
  DemoHarness,
  eventually,
  freePort,
  isPostgres,
  type CheckoutBody,
  type DemoInstance,
} from './harness';

/** An unpaid order made PAID in the database only, as a bug or a hand edit would. */
async function markPaidHere(harness: DemoHarness, orderNo: string, transactionId: string) {
  await harness.dataSource
    .getRepository(OrderEntity)
    .update(
      { orderNo },
      { status: 'PAID', paidAt: harness.clock.now(), paidVia: 'notify', transactionId },
    );
}

const fakeTransaction = (n: number) =>
  `42000099${String(Date.now()).slice(-8)}${String(n).padStart(12, '0')}`;

function finding(view: BillRunView, kind: DiscrepancyView['kind'], orderNo: string) {
  return view.discrepancies.find((d) => d.kind === kind && d.orderNo === orderNo);
}

/** What a discrepancy row says, without the times it was seen. */
const essence = (d: DiscrepancyView) =>
  Object.fromEntries(Object.entries(d).filter(([key]) => !key.endsWith('SeenAt')));

describe(`daily bill reconciliation on ${isPostgres ? 'PostgreSQL' : 'SQLite'}`, () => {
  let harness: DemoHarness;

  beforeAll(async () => {
    harness = await startBillHarness();
  });

  afterAll(() => harness?.close());

  const reconcile = (date: string) =>
    harness.http().post(`/api/admin/bills/${date}/reconcile`).set(admin);

  describe('a day with a discrepancy of every kind', () => {
    let date: string;
    let amount: number;
    const o: Record<
      | 'clean'
      | 'dropped'
      | 'paidHereOnly'
      | 'refundedAtWechat'
      | 'refundHereOnly'
      | 'amountChanged'
      | 'refundProcessingHere',
      CheckoutBody
    > = {} as never;
    let first: BillRunView;

    beforeAll(async () => {
      date = nextTradingDay(harness);
      const shopper = await harness.login();
      o.clean = await paidOrder(harness, shopper);
      amount = o.clean.amount;
      o.refundedAtWechat = await paidOrder(harness, shopper);
      await refundAtWechat(harness, o.refundedAtWechat, `${o.refundedAtWechat.orderNo}-R1`, 100);
      o.refundHereOnly = await paidOrder(harness, shopper);
      await recordRefundHere(harness, o.refundHereOnly, {
        refundNo: `${o.refundHereOnly.orderNo}-R1`,
        amountFen: 100,
        status: 'SUCCESS',
      });
      o.refundProcessingHere = await paidOrder(harness, shopper);
      const refundId = await refundAtWechat(
        harness,
        o.refundProcessingHere,
        `${o.refundProcessingHere.orderNo}-R1`,
        200,
      );
      await recordRefundHere(harness, o.refundProcessingHere, {
        refundNo: `${o.refundProcessingHere.orderNo}-R1`,
        amountFen: 200,
        status: 'PROCESSING',
        refundId,
      });
      o.amountChanged = await paidOrder(harness, shopper);
      await harness.dataSource
        .getRepository(OrderEntity)
        .update({ orderNo: o.amountChanged.orderNo }, { amountFen: amount + 100 });
      o.paidHereOnly = await harness.placeOrder(shopper);
      await markPaidHere(harness, o.paidHereOnly.orderNo, fakeTransaction(1));

      // Every notification of this payment is dropped, and the reconciler is off (the harness).
      harness.simulator.controls.setFaults({ dropNotificationRate: 1 });
      o.dropped = await paidOrder(harness, shopper, { notified: false });
      await harness.simulator.controls.waitForNotifications((all) =>
        all.some((a) => a.outTradeNo === o.dropped.orderNo && a.outcome === 'dropped'),
      );

      billReadyFor(harness, date);
      first = (await reconcile(date).expect(200)).body as BillRunView;
      harness.simulator.controls.resetFaults();
    });

    it('settles a payment whose notifications were all dropped: paid here once, fulfilled once, recorded as repaired', async () => {
      expect(finding(first, 'PAID_AT_WECHAT_NOT_HERE', o.dropped.orderNo)).toMatchObject({
        repaired: true,
        open: true,
        wechatFen: amount,
        ourFen: amount,
        detail: expect.stringContaining('was UNPAID here; settled through orderquery (PAID)'),
      });
      const row = await harness.orderRow(o.dropped.orderNo);
      expect(row).toMatchObject({ status: 'PAID', paidVia: 'bill' });
      expect(await harness.fulfilments(o.dropped.orderNo)).toHaveLength(1);
      const sends = harness.simulator.controls.notifications(o.dropped.orderNo);
      expect(sends.length).toBeGreaterThan(0);
      expect(sends.every((s) => s.outcome === 'dropped')).toBe(true);
    });

    it('flags an order made paid here behind WeChat’s back', () => {
      expect(finding(first, 'PAID_HERE_NOT_AT_WECHAT', o.paidHereOnly.orderNo)).toMatchObject({
        repaired: false,
        wechatFen: null,
        ourFen: amount,
        // Unpaid at WeChat, and closed by its time_expire by the time the bill is out.
        detail: 'WeChat trade_state: CLOSED',
      });
    });

    it('flags a refund made at the simulator directly', () => {
      expect(finding(first, 'REFUND_AT_WECHAT_NOT_HERE', o.refundedAtWechat.orderNo)).toMatchObject(
        {
          refundNo: `${o.refundedAtWechat.orderNo}-R1`,
          wechatFen: 100,
          ourFen: null,
        },
      );
    });

    it('flags a refund recorded here that WeChat does not have', () => {
      expect(finding(first, 'REFUND_HERE_NOT_AT_WECHAT', o.refundHereOnly.orderNo)).toMatchObject({
        refundNo: `${o.refundHereOnly.orderNo}-R1`,
        wechatFen: null,
        ourFen: 100,
        detail: expect.stringContaining('REFUNDNOTEXIST'),
      });
    });

    it('flags a payment whose amount differs, and a refund WeChat finished that is still processing here', () => {
      expect(finding(first, 'AMOUNT_DIFFERS', o.amountChanged.orderNo)).toMatchObject({
        wechatFen: amount,
        ourFen: amount + 100,
      });
      expect(finding(first, 'STATUS_DIFFERS', o.refundProcessingHere.orderNo)).toMatchObject({
        refundNo: `${o.refundProcessingHere.orderNo}-R1`,
        detail: expect.stringContaining('WeChat: SUCCESS, here: PROCESSING'),
      });
    });

    it('stores the run with both sides’ counts and totals, and nothing about the clean order', async () => {
      expect(first).toMatchObject({
        date,
        status: 'DONE',
        bill: 'FOUND',
        attempt: 1,
        runBy: 'admin',
        // Six payments and two refunds at WeChat; here the dropped payment was missing when
        // compared, the order paid behind WeChat's back is extra, one amount is 100 fen more,
        // and of the refunds only the successful one recorded here counts.
        wechat: { payments: 6, paymentsFen: 6 * amount, refunds: 2, refundsFen: 300 },
        ours: { payments: 6, paymentsFen: 6 * amount + 100, refunds: 1, refundsFen: 100 },
        discrepancyCount: 6,
        repairedCount: 1,
      });
      expect(first.discrepancies).toHaveLength(6);
      expect(first.discrepancies.some((d) => d.orderNo === o.clean.orderNo)).toBe(false);
      const got = (await harness.http().get(`/api/admin/bills/${date}`).set(admin).expect(200))
        .body as BillRunView;
      expect(got).toEqual(first);
    });

    it('re-runs idempotently: the same discrepancy rows, none twice, the repaired one no longer open', async () => {
      const before = await discrepancies(harness, date);
      const second = (await reconcile(date).expect(200)).body as BillRunView;
      expect(second).toMatchObject({ attempt: 2, discrepancyCount: 5, repairedCount: 0 });
      const after = await discrepancies(harness, date);
      expect(after.map((d) => [d.id, d.kind, d.subject])).toEqual(
        before.map((d) => [d.id, d.kind, d.subject]),
      );
      expect(finding(second, 'PAID_AT_WECHAT_NOT_HERE', o.dropped.orderNo)).toMatchObject({
        repaired: true,
        open: false,
      });
      const third = (await reconcile(date).expect(200)).body as BillRunView;
      expect(third).toMatchObject({ attempt: 3, discrepancyCount: 5 });
      expect(third.discrepancies.map(essence)).toEqual(second.discrepancies.map(essence));
      expect(await discrepancies(harness, date)).toHaveLength(6);
      expect(await harness.fulfilments(o.dropped.orderNo)).toHaveLength(1);
    });
  });

  it('puts an order paid at 23:59:59 and recorded here after midnight in the bill of its WeChat day only', async () => {
    const date = nextTradingDay(harness);
    const next = beijingDate((beijingDayStart(date) as number) + DAY_MS);
    const shopper = await harness.login();
    harness.simulator.controls.setFaults({ dropNotificationRate: 1 });
    moveClocksTo(harness, `${date}235959`);
    const checkout = await paidOrder(harness, shopper, { notified: false });
    expect(harness.wechatOrder(checkout.orderNo).timeEnd?.slice(0, 8)).toBe(date);
    // Past midnight the order page asks orderquery, which records the payment: on the next day here.
    harness.advanceClocks(2000);
    await harness.getOrder(shopper, checkout.orderNo);
    const row = await harness.waitForStatus(checkout.orderNo, 'PAID');
    harness.simulator.controls.resetFaults();
    expect(beijingDate(row.paidAt as number)).toBe(next);

    billReadyFor(harness, next);
    const paidDay = (await reconcile(date).expect(200)).body as BillRunView;
    expect(paidDay).toMatchObject({
      bill: 'FOUND',
      wechat: { payments: 1, paymentsFen: checkout.amount },
      ours: { payments: 1, paymentsFen: checkout.amount },
      discrepancyCount: 0,
    });
    // The next day WeChat has no trade (No Bill Exist); the order recorded that day is WeChat's day before.
    const recordedDay = (await reconcile(next).expect(200)).body as BillRunView;
    expect(recordedDay).toMatchObject({
      bill: 'NO_BILL',
      wechat: { payments: 0 },
      ours: { payments: 0 },
      discrepancyCount: 0,
    });
  });

  it('runs a day WeChat has no bill for against ours: clean without trades, flagged with a payment only we have', async () => {
    const quiet = nextTradingDay(harness);
    const busy = nextTradingDay(harness);
    const shopper = await harness.login();
    const unpaid = await harness.placeOrder(shopper);
    await markPaidHere(harness, unpaid.orderNo, fakeTransaction(2));
    billReadyFor(harness, busy);

    const clean = (await reconcile(quiet).expect(200)).body as BillRunView;
    expect(clean).toMatchObject({ status: 'DONE', bill: 'NO_BILL', discrepancyCount: 0 });
    const flagged = (await reconcile(busy).expect(200)).body as BillRunView;
    expect(flagged).toMatchObject({
      bill: 'NO_BILL',
      ours: { payments: 1, paymentsFen: unpaid.amount },
      discrepancyCount: 1,
    });
    expect(finding(flagged, 'PAID_HERE_NOT_AT_WECHAT', unpaid.orderNo)).toBeDefined();
  });

  it('answers 503 and stores NOT_READY while WeChat is still making the bill, and runs once it is ready', async () => {
    const date = nextTradingDay(harness);
    await paidOrder(harness, await harness.login());
    const next = beijingDate((beijingDayStart(date) as number) + DAY_MS);
    moveClocksTo(harness, `${next}083000`);
    const early = await reconcile(date).expect(503);
    expect((early.body as { message: string }).message).toContain('Bill Creating');
    const stored = (await harness.http().get(`/api/admin/bills/${date}`).set(admin).expect(200))
      .body as BillRunView;
    expect(stored).toMatchObject({ status: 'NOT_READY', bill: null, attempt: 1 });

    billReadyFor(harness, date);
    const ready = (await reconcile(date).expect(200)).body as BillRunView;
    expect(ready).toMatchObject({ status: 'DONE', attempt: 2, discrepancyCount: 0 });
  });

  it('re-runs a run that crashed halfway once its lease is over: the same discrepancies, none twice', async () => {
    const date = nextTradingDay(harness);
    const shopper = await harness.login();
    const firstOrder = await harness.placeOrder(shopper);
    const secondOrder = await harness.placeOrder(shopper);
    await markPaidHere(harness, firstOrder.orderNo, fakeTransaction(3));
    await markPaidHere(harness, secondOrder.orderNo, fakeTransaction(4));
    billReadyFor(harness, date);

    // The run dies at the second finding, and cannot even record that it stopped: a crash.
    const allowFindings = await harness.failWrites(
      'bill_discrepancies',
      'INSERT',
      `NEW.order_no = '${secondOrder.orderNo}'`,
    );
    const allowEnd = await harness.failWrites('bill_runs', 'UPDATE', `NEW.status <> 'RUNNING'`);
    try {
      // Matched by message: better-sqlite3's error class belongs to whichever test file loaded
      // the addon first, so it need not be an Error of this file's realm.
      await expect(harness.get(BillReconcileService).reconcile(date, 'job')).rejects.toMatchObject({
        message: expect.stringContaining('write refused by the test'),
      });
    } finally {
      await allowFindings();
      await allowEnd();
    }
    const crashed = await harness.dataSource
      .getRepository(BillRunEntity)
      .findOneByOrFail({ billDate: date });
    expect(crashed).toMatchObject({ status: 'RUNNING', attempt: 1 });
    const halfway = await discrepancies(harness, date);
    expect(halfway.map((d) => d.orderNo)).toEqual([firstOrder.orderNo]);

    const other = harness.instances[1] ?? (await harness.addInstance());
    await expect(other.app.get(BillReconcileService).reconcile(date, 'job')).rejects.toBeInstanceOf(
      BillRunBusyError,
    );
    harness.clock.advance(BILL_LEASE_MS + 1);
    const report = await other.app.get(BillReconcileService).reconcile(date, 'job');
    harness.alignClocks();
    expect(report.run).toMatchObject({ status: 'DONE', attempt: 2, discrepancyCount: 2 });
    const rows = await discrepancies(harness, date);
    expect(rows.map((d) => [d.kind, d.orderNo])).toEqual([
      ['PAID_HERE_NOT_AT_WECHAT', firstOrder.orderNo],
      ['PAID_HERE_NOT_AT_WECHAT', secondOrder.orderNo],
    ]);
    expect(rows[0].id).toBe(halfway[0].id);
  });

  it('schedules no job with BILL_RECONCILE_ENABLED=off: it runs only when called', () => {
    for (const instance of harness.instances) {
      expect(instance.app.get(SchedulerRegistry).doesExist('cron', 'bill-reconcile')).toBe(false);
    }
  });

  it('lets exactly one of two instances run the job when both start it for the same date at once', async () => {
    const date = nextTradingDay(harness);
    await paidOrder(harness, await harness.login());
    billReadyFor(harness, date);
    const other: DemoInstance = harness.instances[1] ?? (await harness.addInstance());
    const outcomes = await Promise.all(
      [harness.primary, other].map((instance) => instance.app.get(BillReconcileJob).runOnce()),
    );
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['busy', 'done']);
    const run = await harness.dataSource
      .getRepository(BillRunEntity)
      .findOneByOrFail({ billDate: date });
    expect(run).toMatchObject({ status: 'DONE', attempt: 1, runBy: 'job', discrepancyCount: 0 });
  });

  describe('the admin API', () => {
    it('does not exist without an ADMIN_TOKEN (404), and refuses a missing or wrong token (401)', async () => {
      const tokenless = await harness.addInstance({
        override: (builder) =>
          builder
            .overrideProvider(DEMO_CONFIG)
            .useValue({ ...harness.primary.config, adminToken: undefined }),
      });
      await tokenless.http().get('/api/admin/bills/20261130').set(admin).expect(404);
      await tokenless.http().post('/api/admin/bills/20261130/reconcile').set(admin).expect(404);
      for (const auth of [{}, { Authorization: 'Bearer wrong-token-0123456789abcdef' }]) {
        await harness.http().get('/api/admin/bills/20261130').set(auth).expect(401);
        await harness.http().post('/api/admin/bills/20261130/reconcile').set(auth).expect(401);
      }
    });

    it('answers 400 for a date that is not yyyyMMdd or that WeChat refuses, and 404 for a date that never ran', async () => {
      for (const bad of ['2026-11-30', '20230229', '20261341', 'x']) {
        await harness.http().get(`/api/admin/bills/${bad}`).set(admin).expect(400);
        await harness.http().post(`/api/admin/bills/${bad}/reconcile`).set(admin).expect(400);
      }
      expect(
        await harness.dataSource.getRepository(BillRunEntity).countBy({ billDate: '20230229' }),
      ).toBe(0);
      const future = await reconcile('20991231').expect(400);
      expect((future.body as { message: string[] }).message).toEqual([
        '20991231 has not ended yet: its bill comes the day after',
      ]);
      const old = await reconcile('20000101').expect(400);
      expect((old.body as { message: string[] }).message).toEqual([
        'WeChat has no bill for 20000101: bills go from three months back to yesterday (invalid bill_date)',
      ]);
      expect(
        await harness.dataSource.getRepository(BillRunEntity).countBy({ billDate: '20991231' }),
      ).toBe(0);
      const missing = await harness.http().get('/api/admin/bills/20000102').set(admin).expect(404);
      expect((missing.body as { message: string }).message).toBe('no bill run for 20000102');
    });

    it('answers 409 while another instance holds the date, and changes nothing', async () => {
      const now = harness.clock.now();
      await harness.dataSource.getRepository(BillRunEntity).insert({
        billDate: '20200101',
        status: 'RUNNING',
        attempt: 1,
        runBy: 'job',
        leaseOwner: 'another-instance',
        leaseUntil: now + BILL_LEASE_MS,
        startedAt: now,
      });
      const res = await reconcile('20200101').expect(409);
      expect((res.body as { message: string }).message).toContain('another instance');
      const run = await harness.dataSource
        .getRepository(BillRunEntity)
        .findOneByOrFail({ billDate: '20200101' });
      expect(run).toMatchObject({ attempt: 1, leaseOwner: 'another-instance' });
    });
  });

  describe('npm run bill:reconcile', () => {
    // Each test starts the CLI with ts-node: a few seconds on a busy machine.
    const CLI_TIMEOUT_MS = 30_000;

    let date: string;
    let dropped: CheckoutBody;

    beforeAll(async () => {
      date = nextTradingDay(harness);
      const shopper = await harness.login();
      await paidOrder(harness, shopper);
      harness.simulator.controls.setFaults({ dropNotificationRate: 1 });
      dropped = await paidOrder(harness, shopper, { notified: false });
      billReadyFor(harness, date);
    });

    afterAll(() => harness.simulator.controls.resetFaults());

    it(
      'exits 1 naming the order when the run finds a discrepancy, even one it repaired',
      async () => {
        const cli = await runCli(harness, ['--date', date]);
        expect(cli.stderr).toBe('');
        expect(cli.code).toBe(1);
        expect(cli.stdout).toContain(`Bill ${date} (ALL): DONE, bill FOUND, attempt 1 by cli`);
        expect(cli.stdout).toMatch(
          new RegExp(`PAID_AT_WECHAT_NOT_HERE +order ${dropped.orderNo} .* REPAIRED`),
        );
        expect(await harness.orderRow(dropped.orderNo)).toMatchObject({
          status: 'PAID',
          paidVia: 'bill',
        });
        expect(await harness.fulfilments(dropped.orderNo)).toHaveLength(1);
      },
      CLI_TIMEOUT_MS,
    );

    it(
      'exits 0 when a re-run after the repair finds the day clean',
      async () => {
        const cli = await runCli(harness, [`--date=${date}`]);
        expect(cli.code).toBe(0);
        expect(cli.stdout).toContain('clean: no discrepancies');
        expect(cli.stdout).toContain('1 found by earlier attempts, not seen since');
      },
      CLI_TIMEOUT_MS,
    );

    it(
      'exits 2 when WeChat answers that the bill is not available yet',
      async () => {
        const today = simulatorDate(harness);
        const cli = await runCli(harness, ['--date', today]);
        expect(cli.code).toBe(2);
        expect(cli.stderr).toContain(`WeChat has no bill for ${today} yet (Bill Creating)`);
      },
      CLI_TIMEOUT_MS,
    );

    it(
      'exits 3 with a clear message when WeChat cannot be reached',
      async () => {
        const port = await freePort();
        const cli = await runCli(harness, ['--date', date], {
          WECHAT_PAY_BASE_URL: `http://127.0.0.1:${port}`,
        });
        expect(cli.code).toBe(3);
        expect(cli.stdout).toBe('');
        expect(cli.stderr).toBe(
          `bill ${date}: the run failed: POST 127.0.0.1:${port}/pay/downloadbill failed: ECONNREFUSED (WeChat Pay at http://127.0.0.1:${port})\n`,
        );
      },
      CLI_TIMEOUT_MS,
    );

    it(
      'with the default configuration, uses the simulator of a running npm start on SIMULATOR_PORT',
      async () => {
        const cli = await runCli(harness, ['--date', date], {}, 'default');
        expect(cli.stderr).toBe('');
        expect(cli.code).toBe(0);
        expect(cli.stdout).toContain(`Bill ${date} (ALL): DONE, bill FOUND`);
      },
      CLI_TIMEOUT_MS,
    );

    it(
      'exits 64 with the usage for a date that is not yyyyMMdd',
      async () => {
        const cli = await runCli(harness, ['--date', '2026-11-30']);
        expect(cli.code).toBe(64);
        expect(cli.stderr).toContain('--date must be a calendar date written yyyyMMdd');
        expect(cli.stderr).toContain('usage: npm run bill:reconcile');
      },
      CLI_TIMEOUT_MS,
    );
  });
});

describe('the daily bill job on its schedule', () => {
  let harness: DemoHarness;

  afterAll(() => harness?.close());

  it('fires on BILL_RECONCILE_CRON in Asia/Shanghai and reconciles the previous Beijing day', async () => {
    harness = await DemoHarness.start({
      env: { BILL_RECONCILE_ENABLED: 'on', BILL_RECONCILE_CRON: '* * * * * *' },
    });
    const scheduler = harness.get(SchedulerRegistry);
    expect(scheduler.getCronJob('bill-reconcile').cronTime.timeZone).toBe('Asia/Shanghai');
    const date = nextTradingDay(harness);
    billReadyFor(harness, date);
    const run = await eventually(
      async () =>
        (await harness.dataSource.getRepository(BillRunEntity).findOneBy({ billDate: date })) ??
        undefined,
      `the job to run ${date}`,
      3000,
      50,
    );
    expect(run).toMatchObject({ runBy: 'job' });
  });
});
