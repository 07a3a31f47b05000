import {
  buildPaymentNotification,
  buildRefundNotification,
  parseNotifyReply,
} from 'nestjs-wechat-pay-v2/testing';
import { PaymentNotificationEntity } from '../../apps/demo/src/payments/payment-notification.entity';
import { PaymentReviewEntity } from '../../apps/demo/src/payments/payment-review.entity';
import { ReconcilerService } from '../../apps/demo/src/reconciler/reconciler.service';
import { FulfilmentReversalEntity } from '../../apps/demo/src/refunds/fulfilment-reversal.entity';
import { RefundEntity, type RefundStatus } from '../../apps/demo/src/refunds/refund.entity';
import { DemoHarness, eventually, isPostgres, type Shopper } from './harness';

/**
 * Refunds end to end: the admin API, the real simulator over mutual TLS with its own merchant
 * certificate, its encrypted refund notifications to the library's route, refundquery from the
 * reconciler. The simulator's refund delay is 5 s × 0.001.
 */

const ADMIN_TOKEN = 'demo-e2e-admin-token-0123456789';
const ADMIN = { Authorization: `Bearer ${ADMIN_TOKEN}` };
/** Past any refund's next check (the first send's allowance, the longest back-off gap). */
const PAST_NEXT_CHECK_MS = 61 * 60_000;

interface RefundCreated {
  refundNo: string;
  status: RefundStatus;
  amountFen: number;
  error?: string;
}

interface AdminRefunds {
  orderNo: string;
  orderStatus: string;
  amountFen: number;
  reservedFen: number;
  refundedFen: number;
  refunds: Array<{ refundNo: string; status: RefundStatus; amountFen: number; refundId?: string }>;
}

describe('demo refunds over TLS', () => {
  let harness: DemoHarness;
  let shopper: Shopper;

  beforeAll(async () => {
    harness = await DemoHarness.start({
      tls: true,
      adminToken: ADMIN_TOKEN,
      // The refund that times out waits this long, not the default 8 s.
      env: { WECHAT_READ_TIMEOUT_MS: '700' },
    });
    shopper = await harness.login();
  });

  afterAll(() => harness?.close());

  afterEach(() => harness.simulator.controls.resetFaults());

  /** A paid order of `quantity` × product 1 (6800 fen each), its notification delivered. */
  async function paidOrder(quantity = 1): Promise<{ orderNo: string; amount: number }> {
    const checkout = await harness.placeOrder(shopper, [{ productId: 1, quantity }]);
    expect(harness.payAtWechat(shopper, checkout.payParams).errMsg).toBe('requestPayment:ok');
    await harness.waitForStatus(checkout.orderNo, 'PAID');
    return { orderNo: checkout.orderNo, amount: checkout.amount };
  }

  function postRefund(orderNo: string, body: unknown, headers: Record<string, string> = ADMIN) {
    return harness
      .http()
      .post(`/api/admin/orders/${orderNo}/refunds`)
      .set(headers)
      .send(body as object);
  }

  async function refund(orderNo: string, amountFen: number, reason?: string) {
    const res = await postRefund(orderNo, { amountFen, ...(reason ? { reason } : {}) });
    expect(res.status).toBe(201);
    return res.body as RefundCreated;
  }

  async function adminRefunds(orderNo: string): Promise<AdminRefunds> {
    const res = await harness.http().get(`/api/admin/orders/${orderNo}/refunds`).set(ADMIN);
    expect(res.status).toBe(200);
    return res.body as AdminRefunds;
  }

  function refundRow(refundNo: string): Promise<RefundEntity> {
    return harness.dataSource.getRepository(RefundEntity).findOneByOrFail({ refundNo });
  }

  function waitForRefund(refundNo: string, status: RefundStatus): Promise<RefundEntity> {
    return eventually(async () => {
      const row = await refundRow(refundNo);
      return row.status === status && row;
    }, `refund ${refundNo} to become ${status}`);
  }

  function reversals(orderNo: string) {
    return harness.dataSource.getRepository(FulfilmentReversalEntity).findBy({ orderNo });
  }

  function reconcile() {
    harness.advanceClocks(PAST_NEXT_CHECK_MS);
    return harness.get(ReconcilerService).runOnce();
  }

  async function postNotification(xml: string) {
    const res = await harness
      .http()
      .post('/wechat-pay/refund-notify')
      .set('Content-Type', 'text/xml')
      .send(xml);
    expect(res.status).toBe(200);
    return parseNotifyReply(res.text);
  }

  it('refunds a whole order: PROCESSING, then the notification makes it REFUNDED with one reversal', async () => {
    const { orderNo, amount } = await paidOrder();
    const created = await refund(orderNo, amount, '顾客退货');
    expect(created).toEqual({
      refundNo: expect.stringMatching(/^R\d{24}$/),
      status: 'PROCESSING',
      amountFen: amount,
    });

    const row = await waitForRefund(created.refundNo, 'SUCCESS');
    expect(row.refundId).toMatch(/^\d{29}$/);
    expect(row.successAt).not.toBeNull();
    const order = await harness.getOrder(shopper, orderNo);
    expect(order.status).toBe('REFUNDED');
    expect(order.refundedFen).toBe(amount);
    expect(order.refunds).toEqual([
      expect.objectContaining({
        amountFen: amount,
        status: 'SUCCESS',
        successAt: expect.any(String),
      }),
    ]);
    expect(await reversals(orderNo)).toEqual([
      expect.objectContaining({ refundId: row.id, amountFen: amount }),
    ]);
    const atWechat = harness.simulator.controls.refunds(orderNo);
    expect(atWechat.map((r) => [r.outRefundNo, r.refundFee, r.status, r.refundDesc])).toEqual([
      [created.refundNo, amount, 'SUCCESS', '顾客退货'],
    ]);
    // A refunded order is still a paid one: its payment notification again is a duplicate.
    const paid = await harness.orderRow(orderNo);
    const merchant = harness.simulator.merchant;
    const again = buildPaymentNotification({
      apiKey: merchant.apiKey,
      appId: merchant.appId,
      mchId: merchant.mchId,
      outTradeNo: orderNo,
      totalFee: amount,
      openid: shopper.openid,
      transactionId: paid.transactionId as string,
      signType: 'HMAC-SHA256',
    });
    const reply = await harness
      .http()
      .post('/wechat-pay/notify')
      .set('Content-Type', 'text/xml')
      .send(again.xml);
    expect((await parseNotifyReply(reply.text)).returnCode).toBe('SUCCESS');
    const notifications = await harness.dataSource
      .getRepository(PaymentNotificationEntity)
      .findBy({ outTradeNo: orderNo });
    expect(notifications.map((n) => n.outcome)).toContain('DUPLICATE');
    expect(await harness.fulfilments(orderNo)).toHaveLength(1);
    expect((await harness.orderRow(orderNo)).status).toBe('REFUNDED');
    expect((await postRefund(orderNo, { amountFen: 1 })).status).toBe(409);
  });

  it('takes two partial refunds: PARTIALLY_REFUNDED, then REFUNDED; nothing beyond', async () => {
    const { orderNo, amount } = await paidOrder(2);
    const first = await refund(orderNo, 5000);
    await waitForRefund(first.refundNo, 'SUCCESS');
    let order = await harness.getOrder(shopper, orderNo);
    expect([order.status, order.refundedFen]).toEqual(['PARTIALLY_REFUNDED', 5000]);

    const exceeding = await postRefund(orderNo, { amountFen: amount - 5000 + 1 });
    expect(exceeding.status).toBe(409);
    expect(JSON.stringify(exceeding.body)).toContain(`${amount - 5000} fen`);

    const second = await refund(orderNo, amount - 5000);
    await waitForRefund(second.refundNo, 'SUCCESS');
    order = await harness.getOrder(shopper, orderNo);
    expect([order.status, order.refundedFen]).toEqual(['REFUNDED', amount]);
    expect(order.refunds?.map((r) => [r.amountFen, r.status])).toEqual([
      [5000, 'SUCCESS'],
      [amount - 5000, 'SUCCESS'],
    ]);
    expect(await reversals(orderNo)).toHaveLength(2);
    const listed = await adminRefunds(orderNo);
    expect(listed).toMatchObject({
      orderStatus: 'REFUNDED',
      amountFen: amount,
      reservedFen: amount,
      refundedFen: amount,
    });
    expect(listed.refunds.map((r) => r.refundNo)).toEqual([first.refundNo, second.refundNo]);
  });

  it('lets 20 racing refunds whose sum exceeds the order reserve at most its amount', async () => {
    const { orderNo, amount } = await paidOrder();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => postRefund(orderNo, { amountFen: 500 })),
    );
    const accepted = answers.filter((res) => res.status === 201);
    const refused = answers.filter((res) => res.status === 409);
    expect(accepted.length + refused.length).toBe(20);
    expect(accepted).toHaveLength(Math.floor(amount / 500));
    for (const res of accepted) expect((res.body as RefundCreated).status).not.toBe('CLOSED');

    const row = await harness.orderRow(orderNo);
    expect(row.refundReservedFen).toBe(accepted.length * 500);
    expect(row.refundReservedFen).toBeLessThanOrEqual(amount);
    const rows = await harness.dataSource.getRepository(RefundEntity).findBy({ orderNo });
    expect(rows).toHaveLength(accepted.length);
    const atWechat = harness.simulator.controls.refunds(orderNo);
    expect(atWechat.map((r) => r.outRefundNo).sort()).toEqual(rows.map((r) => r.refundNo).sort());
    expect(atWechat.reduce((sum, r) => sum + r.refundFee, 0)).toBe(accepted.length * 500);
  });

  it('retries a refund that timed out after WeChat accepted it with the same number: one refund at WeChat', async () => {
    const { orderNo, amount } = await paidOrder();
    harness.simulator.controls.setFaults({
      refundNoAnswerNext: 1,
      refundOutcomes: ['PROCESSING'],
      dropRefundNotificationRate: 1,
    });
    const created = await refund(orderNo, amount);
    expect(created).toMatchObject({ status: 'PENDING', error: 'TRANSPORT' });
    expect(harness.simulator.controls.refunds(orderNo)).toHaveLength(1);
    const pending = await refundRow(created.refundNo);
    expect([pending.status, pending.refundId]).toEqual(['PENDING', null]);
    expect((await harness.orderRow(orderNo)).refundReservedFen).toBe(amount);

    const pass = await reconcile();
    expect(pass.refunds).toMatchObject({ claimed: 1, outcomes: { PROCESSING: 1 } });
    const [atWechat] = harness.simulator.controls.refunds(orderNo);
    expect(harness.simulator.controls.refunds(orderNo)).toHaveLength(1);
    expect(atWechat.outRefundNo).toBe(created.refundNo);
    const processing = await refundRow(created.refundNo);
    expect([processing.status, processing.refundId]).toEqual(['PROCESSING', atWechat.refundId]);

    // Still PROCESSING at WeChat: asked again later, on the back-off.
    expect((await reconcile()).refunds.outcomes.PROCESSING).toBe(1);
    const asked = await refundRow(created.refundNo);
    expect([asked.status, asked.checkAttempts]).toEqual(['PROCESSING', 1]);
    expect(asked.nextCheckAt).toBeGreaterThan(harness.clock.now());

    harness.simulator.controls.finishRefund(created.refundNo);
    expect((await reconcile()).refunds.outcomes.SUCCESS).toBe(1);
    expect((await harness.getOrder(shopper, orderNo)).status).toBe('REFUNDED');
    expect(await reversals(orderNo)).toHaveLength(1);
  });

  it('keeps a refund answered SYSTEMERROR pending and sends it again; closes one refused for good', async () => {
    const { orderNo, amount } = await paidOrder();
    harness.simulator.controls.setFaults({
      businessErrors: [
        { path: '/secapi/pay/refund', errCode: 'SYSTEMERROR' },
        { path: '/secapi/pay/refund', errCode: 'NOTENOUGH' },
      ],
    });
    const inDoubt = await refund(orderNo, 1000);
    expect(inDoubt).toMatchObject({ status: 'PENDING', error: 'BUSINESS' });
    const refused = await refund(orderNo, 2000);
    expect(refused).toMatchObject({
      status: 'CLOSED',
      error: expect.stringContaining('NOTENOUGH'),
    });
    expect((await harness.orderRow(orderNo)).refundReservedFen).toBe(1000);
    expect(harness.simulator.controls.refunds(orderNo)).toEqual([]);

    // Sent again: BIZERR_NEED_RETRY this time, so again later, with the same number.
    harness.simulator.controls.setFaults({
      businessErrors: [{ path: '/secapi/pay/refund', errCode: 'BIZERR_NEED_RETRY' }],
    });
    const failed = await reconcile();
    expect(failed.refunds).toMatchObject({ claimed: 1, outcomes: { error: 1 } });
    const again = await refundRow(inDoubt.refundNo);
    expect([again.status, again.checkAttempts]).toEqual(['PENDING', 2]);
    expect(again.lastError).toMatch(/^BIZERR_NEED_RETRY/);

    const pass = await reconcile();
    expect(pass.refunds).toMatchObject({ claimed: 1, outcomes: { PROCESSING: 1 } });
    await waitForRefund(inDoubt.refundNo, 'SUCCESS');
    expect(harness.simulator.controls.refunds(orderNo).map((r) => r.outRefundNo)).toEqual([
      inDoubt.refundNo,
    ]);
    const order = await harness.getOrder(shopper, orderNo);
    expect([order.status, order.refundedFen]).toEqual(['PARTIALLY_REFUNDED', 1000]);
    expect(order.refunds?.map((r) => r.status)).toEqual(['SUCCESS', 'CLOSED']);
    // The closed refund gave its amount back.
    expect((await refund(orderNo, amount - 1000)).status).toBe('PROCESSING');
  });

  it('applies 50 concurrent copies of one refund notification once', async () => {
    const { orderNo, amount } = await paidOrder();
    harness.simulator.controls.setFaults({ refundOutcomes: ['PROCESSING'] });
    const created = await refund(orderNo, amount);
    const processing = await refundRow(created.refundNo);
    const merchant = harness.simulator.merchant;
    // The simulator's 20 copies (its most) and 30 more of the same report, all at once.
    const copy = buildRefundNotification({
      apiKey: merchant.apiKey,
      appId: merchant.appId,
      mchId: merchant.mchId,
      outRefundNo: created.refundNo,
      refundId: processing.refundId as string,
      outTradeNo: orderNo,
      transactionId: (await harness.orderRow(orderNo)).transactionId as string,
      totalFee: amount,
      refundFee: amount,
    }).xml;
    harness.simulator.controls.setFaults({ refundNotificationCopies: 20 });
    harness.simulator.controls.finishRefund(created.refundNo);
    const replies = await Promise.all(Array.from({ length: 30 }, () => postNotification(copy)));
    expect(replies.map((r) => r.returnCode)).toEqual(Array(30).fill('SUCCESS'));
    const sends = await harness.simulator.controls.waitForRefundNotifications(
      (all) => all.filter((a) => a.outRefundNo === created.refundNo).length >= 20,
      10_000,
    );
    const copies = sends.filter((a) => a.outRefundNo === created.refundNo);
    expect(copies.map((a) => a.outcome)).toEqual(Array(20).fill('delivered'));

    const row = await waitForRefund(created.refundNo, 'SUCCESS');
    expect(row.refundId).toBe(processing.refundId);
    const order = await harness.orderRow(orderNo);
    expect([order.status, order.refundedFen, order.refundReservedFen]).toEqual([
      'REFUNDED',
      amount,
      amount,
    ]);
    expect(await reversals(orderNo)).toHaveLength(1);
  });

  it('answers FAIL to forged, foreign and garbled refund notifications and changes nothing', async () => {
    const { orderNo, amount } = await paidOrder();
    harness.simulator.controls.setFaults({ refundOutcomes: ['PROCESSING'] });
    const created = await refund(orderNo, amount);
    const before = await refundRow(created.refundNo);
    expect(before.status).toBe('PROCESSING');
    const merchant = harness.simulator.merchant;
    const genuine = {
      apiKey: merchant.apiKey,
      appId: merchant.appId,
      mchId: merchant.mchId,
      outRefundNo: created.refundNo,
      refundId: before.refundId as string,
      outTradeNo: orderNo,
      transactionId: (await harness.orderRow(orderNo)).transactionId as string,
      totalFee: amount,
      refundFee: amount,
    };
    const refusals = [
      buildRefundNotification({ ...genuine, encryptWithKey: 'k'.repeat(32) }).xml,
      buildRefundNotification({ ...genuine, mchId: '1900000999' }).xml,
      buildRefundNotification({ ...genuine, fields: { req_info: 'bm90IGEgYmxvY2s=' } }).xml,
      buildRefundNotification({ ...genuine, fields: { req_info: '***' } }).xml,
      // Decrypts, but no refund of ours has this number, or ours has other amounts.
      buildRefundNotification({ ...genuine, outRefundNo: 'R00000000000000000000000000' }).xml,
      buildRefundNotification({ ...genuine, refundFee: amount - 1 }).xml,
    ];
    for (const xml of refusals) {
      expect((await postNotification(xml)).returnCode).toBe('FAIL');
    }
    const after = await refundRow(created.refundNo);
    expect(after).toEqual(before);
    const order = await harness.orderRow(orderNo);
    expect([order.status, order.refundedFen]).toEqual(['PAID', 0]);
    expect(await reversals(orderNo)).toEqual([]);

    // The genuine one, for contrast, is applied.
    expect((await postNotification(buildRefundNotification(genuine).xml)).returnCode).toBe(
      'SUCCESS',
    );
    expect((await refundRow(created.refundNo)).status).toBe('SUCCESS');
  });

  it('finds a refund whose notifications were all dropped with refundquery', async () => {
    const { orderNo, amount } = await paidOrder();
    harness.simulator.controls.setFaults({ dropRefundNotificationRate: 1 });
    const created = await refund(orderNo, 3000);
    await eventually(
      async () => harness.simulator.controls.refund(created.refundNo)?.status === 'SUCCESS',
      'the simulator to finish the refund',
    );
    expect((await refundRow(created.refundNo)).status).toBe('PROCESSING');
    expect(harness.simulator.controls.refundNotifications(created.refundNo)[0].outcome).toBe(
      'dropped',
    );

    const pass = await reconcile();
    expect(pass.refunds.outcomes.SUCCESS).toBe(1);
    const order = await harness.getOrder(shopper, orderNo);
    expect([order.status, order.refundedFen]).toEqual(['PARTIALLY_REFUNDED', 3000]);
    expect(order.amount).toBe(amount);
    expect(await reversals(orderNo)).toHaveLength(1);
    // Asked again, nothing moves twice.
    await reconcile();
    expect((await harness.orderRow(orderNo)).refundedFen).toBe(3000);
  });

  it('flags a CHANGE refund for a person and releases a REFUNDCLOSE one', async () => {
    const { orderNo, amount } = await paidOrder();
    harness.simulator.controls.setFaults({ refundOutcomes: ['CHANGE', 'REFUNDCLOSE'] });
    const changed = await refund(orderNo, 1000);
    const closed = await refund(orderNo, 2000);
    await waitForRefund(changed.refundNo, 'CHANGE');
    await waitForRefund(closed.refundNo, 'CLOSED');

    const reviews = await harness.dataSource
      .getRepository(PaymentReviewEntity)
      .findBy({ orderNo, kind: 'REFUND_CHANGE' });
    expect(reviews).toHaveLength(1);
    expect(JSON.parse(reviews[0].details)).toMatchObject({ refundNo: changed.refundNo });
    const row = await harness.orderRow(orderNo);
    // CHANGE keeps its amount reserved (the money is owed to the buyer); REFUNDCLOSE gives it back.
    expect([row.status, row.refundedFen, row.refundReservedFen]).toEqual(['PAID', 0, 1000]);
    const order = await harness.getOrder(shopper, orderNo);
    expect(order.refunds?.map((r) => r.status)).toEqual(['CHANGE', 'CLOSED']);
    expect((await postRefund(orderNo, { amountFen: amount - 1000 + 1 })).status).toBe(409);
    expect(await reversals(orderNo)).toEqual([]);
  });

  // Several instances share a database on PostgreSQL (SQLite has one writer: one instance).
  (isPostgres ? it : it.skip)(
    'lets one of two instances reconciling at once claim a due refund',
    async () => {
      const { orderNo, amount } = await paidOrder();
      harness.simulator.controls.setFaults({
        businessErrors: [{ path: '/secapi/pay/refund', errCode: 'BIZERR_NEED_RETRY' }],
      });
      const created = await refund(orderNo, amount);
      expect(created).toMatchObject({ status: 'PENDING', error: 'BUSINESS' });
      const second = await harness.addInstance();
      harness.advanceClocks(PAST_NEXT_CHECK_MS);
      const passes = await Promise.all(
        [harness.primary, second].map((instance) => instance.app.get(ReconcilerService).runOnce()),
      );
      expect(passes.map((pass) => pass.refunds.claimed).sort()).toEqual([0, 1]);
      await waitForRefund(created.refundNo, 'SUCCESS');
      expect(harness.simulator.controls.refunds(orderNo)).toHaveLength(1);
      expect(await reversals(orderNo)).toHaveLength(1);
    },
  );

  describe('the admin API', () => {
    it('answers 401 without the token or with a wrong one, and 404 when ADMIN_TOKEN is not set', async () => {
      const { orderNo } = await paidOrder();
      const wrong = await postRefund(
        orderNo,
        { amountFen: 1 },
        { Authorization: 'Bearer wrong-token-0123456789' },
      );
      expect(wrong.status).toBe(401);
      expect((await postRefund(orderNo, { amountFen: 1 }, {})).status).toBe(401);
      expect((await harness.http().get(`/api/admin/orders/${orderNo}/refunds`)).status).toBe(401);

      const off = await harness.addInstance({ env: { ADMIN_TOKEN: undefined } });
      expect(off.config.adminToken).toBeUndefined();
      const post = await off
        .http()
        .post(`/api/admin/orders/${orderNo}/refunds`)
        .set(ADMIN)
        .send({ amountFen: 1 });
      expect(post.status).toBe(404);
      expect((await off.http().get(`/api/admin/orders/${orderNo}/refunds`).set(ADMIN)).status).toBe(
        404,
      );

      expect((await harness.orderRow(orderNo)).refundReservedFen).toBe(0);
      expect(harness.simulator.controls.refunds(orderNo)).toEqual([]);
    });

    it('refuses invalid bodies with 400, unknown orders with 404 and unpaid ones with 409', async () => {
      const { orderNo } = await paidOrder();
      const bodies: unknown[] = [
        {},
        { amountFen: 0 },
        { amountFen: -5 },
        { amountFen: 1.5 },
        { amountFen: '100' },
        { amountFen: 2 ** 53 },
        { amountFen: null },
        { amountFen: true },
        { amountFen: [100] },
        { amountFen: 100, reason: 'x'.repeat(81) },
        { amountFen: 100, reason: '' },
        { amountFen: 100, reason: 'a\u0000b' },
        { amountFen: 100, reason: 42 },
        [],
      ];
      for (const body of bodies) {
        const res = await postRefund(orderNo, body);
        expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), 400]);
      }
      const malformed = await harness
        .http()
        .post(`/api/admin/orders/${orderNo}/refunds`)
        .set(ADMIN)
        .set('Content-Type', 'application/json')
        .send('{"amountFen": ');
      expect(malformed.status).toBe(400);
      expect((await postRefund('bad%20no', { amountFen: 1 })).status).toBe(400);
      expect((await postRefund('NOSUCHORDER0001', { amountFen: 1 })).status).toBe(404);
      expect(
        (await harness.http().get('/api/admin/orders/NOSUCHORDER0001/refunds').set(ADMIN)).status,
      ).toBe(404);
      const unpaid = await harness.placeOrder(shopper);
      expect((await postRefund(unpaid.orderNo, { amountFen: 1 })).status).toBe(409);

      const row = await harness.orderRow(orderNo);
      expect(row.refundReservedFen).toBe(0);
      expect(await harness.dataSource.getRepository(RefundEntity).findBy({ orderNo })).toEqual([]);
      expect(harness.simulator.controls.refunds(orderNo)).toEqual([]);
    });
  });
});

describe('demo refunds when WeChat stops answering', () => {
  const LEASE_MS = 3_000;
  let harness: DemoHarness;

  beforeAll(async () => {
    harness = await DemoHarness.start({
      tls: true,
      adminToken: ADMIN_TOKEN,
      env: {
        RECONCILER_LEASE_MS: String(LEASE_MS),
        RECONCILER_CONCURRENCY: '1',
        WECHAT_CONNECT_TIMEOUT_MS: '500',
      },
    });
  });

  afterAll(() => harness?.close());

  it('ends the pass before its lease does; the refunds it did not reach keep their number for later', async () => {
    const shopper = await harness.login();
    const refundNos: string[] = [];
    harness.simulator.controls.setFaults({
      systemErrorNext: 3,
      systemErrorPaths: ['/secapi/pay/refund'],
    });
    for (let i = 0; i < 3; i++) {
      const checkout = await harness.placeOrder(shopper);
      expect(harness.payAtWechat(shopper, checkout.payParams).errMsg).toBe('requestPayment:ok');
      await harness.waitForStatus(checkout.orderNo, 'PAID');
      const res = await harness
        .http()
        .post(`/api/admin/orders/${checkout.orderNo}/refunds`)
        .set(ADMIN)
        .send({ amountFen: checkout.amount });
      expect(res.body).toMatchObject({ status: 'PENDING' });
      refundNos.push((res.body as RefundCreated).refundNo);
    }
    // Notifications dropped: only the reconciler moves the refunds here.
    harness.simulator.controls.setFaults({ refundNoAnswerNext: 3, dropRefundNotificationRate: 1 });
    harness.advanceClocks(PAST_NEXT_CHECK_MS);

    const startedAt = Date.now();
    const summary = await harness.get(ReconcilerService).runOnce();
    expect(Date.now() - startedAt).toBeLessThan(LEASE_MS);
    expect(summary.refunds.claimed).toBe(3);
    expect(summary.refunds.outcomes.error).toBeGreaterThanOrEqual(1);
    expect(summary.refunds.outcomes.error + summary.refunds.outcomes.deferred).toBe(3);
    const rows = await harness.dataSource.getRepository(RefundEntity).find();
    expect(rows.map((r) => r.status)).toEqual(['PENDING', 'PENDING', 'PENDING']);

    // WeChat answers again: each is sent with its own number, and WeChat holds one refund each.
    harness.simulator.controls.resetFaults();
    harness.simulator.controls.setFaults({ dropRefundNotificationRate: 1 });
    harness.advanceClocks(PAST_NEXT_CHECK_MS);
    const next = await harness.get(ReconcilerService).runOnce();
    expect(next.refunds).toMatchObject({ claimed: 3, outcomes: { PROCESSING: 3 } });
    const atWechat = harness.simulator.controls.refunds();
    expect(atWechat.map((r) => r.outRefundNo).sort()).toEqual([...refundNos].sort());
  }, 30_000);
});
