import {
  buildPaymentNotification,
  parseNotifyReply,
  type PaymentNotificationOptions,
} from 'nestjs-wechat-pay-v2/testing';
import { FulfilmentEntity } from '../../apps/demo/src/payments/fulfilment.entity';
import { PaymentNotificationEntity } from '../../apps/demo/src/payments/payment-notification.entity';
import { PaymentReviewEntity } from '../../apps/demo/src/payments/payment-review.entity';
import { PaymentsService, type SettleOutcome } from '../../apps/demo/src/payments/payments.service';
import { ReconcilerService } from '../../apps/demo/src/reconciler/reconciler.service';
import { DemoHarness, type CheckoutBody, type Shopper } from './harness';

/** A little more than the first orderquery offset (5 s after creation). */
const UNTIL_FIRST_CHECK_MS = 6_000;

describe('demo payment notifications', () => {
  let harness: DemoHarness;
  let shopper: Shopper;

  beforeAll(async () => {
    harness = await DemoHarness.start();
    shopper = await harness.login();
  });

  afterEach(() => {
    jest.restoreAllMocks();
    harness.simulator.controls.resetFaults();
  });

  afterAll(() => harness?.close());

  /** Records the settle outcomes for one order on the primary instance, whatever their source. */
  function recordSettleOutcomes(orderNo: string): SettleOutcome[] {
    const payments = harness.get(PaymentsService);
    const settle = payments.settle.bind(payments);
    const outcomes: SettleOutcome[] = [];
    jest.spyOn(payments, 'settle').mockImplementation(async (evidence, source, record) => {
      const outcome = await settle(evidence, source, record);
      if (evidence.outTradeNo === orderNo) outcomes.push(outcome);
      return outcome;
    });
    return outcomes;
  }

  async function postNotification(xml: string) {
    const res = await harness
      .http()
      .post('/wechat-pay/notify')
      .set('Content-Type', 'text/xml')
      .send(xml);
    expect(res.status).toBe(200);
    return parseNotifyReply(res.text);
  }

  function notificationFor(
    order: CheckoutBody,
    overrides: Partial<PaymentNotificationOptions> = {},
  ) {
    const merchant = harness.simulator.merchant;
    return buildPaymentNotification({
      apiKey: merchant.apiKey,
      appId: merchant.appId,
      mchId: merchant.mchId,
      outTradeNo: order.orderNo,
      totalFee: order.amount,
      openid: shopper.openid,
      transactionId: '4200000000202501010000000042',
      signType: 'HMAC-SHA256',
      ...overrides,
    });
  }

  it('settles through the reconciler when every notification is lost', async () => {
    const checkout = await harness.placeOrder(shopper);
    harness.simulator.controls.setFaults({ dropNotificationRate: 1 });
    expect(harness.payAtWechat(shopper, checkout.payParams).errMsg).toBe('requestPayment:ok');
    await harness.simulator.controls.waitForNotifications((all) =>
      all.some((a) => a.outTradeNo === checkout.orderNo && a.outcome === 'dropped'),
    );
    expect((await harness.orderRow(checkout.orderNo)).status).toBe('UNPAID');

    harness.advanceClocks(UNTIL_FIRST_CHECK_MS);
    const summary = await harness.get(ReconcilerService).runOnce();

    expect(summary.outcomes.paid).toBeGreaterThanOrEqual(1);
    expect(await harness.orderRow(checkout.orderNo)).toMatchObject({
      status: 'PAID',
      paidVia: 'reconciler',
      transactionId: harness.wechatOrder(checkout.orderNo).transactionId,
    });
    expect(await harness.fulfilments(checkout.orderNo)).toHaveLength(1);
    expect(
      harness.simulator.controls
        .notifications(checkout.orderNo)
        .every((a) => a.outcome === 'dropped'),
    ).toBe(true);
  });

  it('is paid once when the first notification fails in the shop and the retry succeeds', async () => {
    const checkout = await harness.placeOrder(shopper);
    const payments = harness.get(PaymentsService);
    const settle = payments.settle.bind(payments);
    let failed = false;
    // Only this order's first attempt fails: late retries of earlier tests' orders may arrive too.
    jest.spyOn(payments, 'settle').mockImplementation((evidence, source, record) => {
      if (evidence.outTradeNo !== checkout.orderNo || failed)
        return settle(evidence, source, record);
      failed = true;
      return Promise.reject(new Error('database briefly unavailable'));
    });

    harness.payAtWechat(shopper, checkout.payParams);
    await harness.waitForDelivery(checkout.orderNo);

    const sends = harness.simulator.controls.notifications(checkout.orderNo);
    expect(sends.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'failed'],
      [2, 'delivered'],
    ]);
    expect(await parseNotifyReply(sends[0].reply ?? '')).toEqual({
      returnCode: 'FAIL',
      returnMsg: 'handler failed',
    });
    expect(await harness.orderRow(checkout.orderNo)).toMatchObject({
      status: 'PAID',
      paidVia: 'notify',
    });
    expect(await harness.fulfilments(checkout.orderNo)).toHaveLength(1);
  });

  it('pays once when 50 copies of a notification race a reconciler pass and a GET', async () => {
    const checkout = await harness.placeOrder(shopper);
    // Paid at WeChat with its own notifications lost: orderquery (from the reconciler and the GET)
    // and the 50 copies below all carry the same real payment.
    harness.simulator.controls.setFaults({ dropNotificationRate: 1 });
    harness.payAtWechat(shopper, checkout.payParams);
    const paid = harness.wechatOrder(checkout.orderNo);
    expect(paid.tradeState).toBe('SUCCESS');
    harness.advanceClocks(UNTIL_FIRST_CHECK_MS);
    const outcomes = recordSettleOutcomes(checkout.orderNo);
    const { xml } = notificationFor(checkout, {
      transactionId: paid.transactionId,
      timeEnd: paid.timeEnd,
    });

    const [replies, summary, order] = await Promise.all([
      Promise.all(Array.from({ length: 50 }, () => postNotification(xml))),
      harness.get(ReconcilerService).runOnce(),
      harness.getOrder(shopper, checkout.orderNo),
    ]);

    expect(replies).toHaveLength(50);
    expect(replies.every((r) => r.returnCode === 'SUCCESS')).toBe(true);
    expect(outcomes.filter((o) => o === 'PAID')).toHaveLength(1);
    expect(outcomes.filter((o) => o !== 'PAID' && o !== 'DUPLICATE')).toEqual([]);
    expect(summary.outcomes.error).toBe(0);
    expect(['UNPAID', 'PAID']).toContain(order.status);
    expect(await harness.orderRow(checkout.orderNo)).toMatchObject({
      status: 'PAID',
      transactionId: paid.transactionId,
    });
    expect(
      await harness.dataSource
        .getRepository(FulfilmentEntity)
        .countBy({ orderNo: checkout.orderNo }),
    ).toBe(1);
    const audited = await harness.dataSource
      .getRepository(PaymentNotificationEntity)
      .findBy({ outTradeNo: checkout.orderNo });
    expect(audited).toHaveLength(50);
  });

  it('keeps the payment and its stored notification together when the audit write fails', async () => {
    const checkout = await harness.placeOrder(shopper);
    // The audit row cannot be written: the state a crash between two commits would leave.
    const restore = await harness.failWrites(
      'payment_notifications',
      'INSERT',
      `NEW.out_trade_no = '${checkout.orderNo}'`,
    );
    const { xml } = notificationFor(checkout);
    try {
      expect(await postNotification(xml)).toEqual({
        returnCode: 'FAIL',
        returnMsg: 'handler failed',
      });
      expect(await harness.orderRow(checkout.orderNo)).toMatchObject({ status: 'UNPAID' });
      expect(await harness.fulfilments(checkout.orderNo)).toEqual([]);
    } finally {
      await restore();
    }

    // WeChat resends; now both are written, in one transaction.
    expect(await postNotification(xml)).toEqual({ returnCode: 'SUCCESS', returnMsg: 'OK' });
    expect(await harness.orderRow(checkout.orderNo)).toMatchObject({ status: 'PAID' });
    expect(await harness.fulfilments(checkout.orderNo)).toHaveLength(1);
    const audited = await harness.dataSource
      .getRepository(PaymentNotificationEntity)
      .findBy({ outTradeNo: checkout.orderNo });
    expect(audited.map((a) => a.outcome)).toEqual(['PAID']);
  });

  it.each([2 ** 31, 999_999_999_999_999])(
    'records a signed total_fee of %d fen as an amount mismatch instead of failing forever',
    async (totalFee) => {
      const checkout = await harness.placeOrder(shopper);
      const { xml } = notificationFor(checkout, {
        totalFee,
        transactionId: `42000000002025010100${String(totalFee).slice(-8).padStart(8, '0')}`,
      });

      expect(await postNotification(xml)).toEqual({ returnCode: 'SUCCESS', returnMsg: 'OK' });

      expect(await harness.orderRow(checkout.orderNo)).toMatchObject({ status: 'UNPAID' });
      expect(await harness.fulfilments(checkout.orderNo)).toEqual([]);
      const reviews = await harness.dataSource
        .getRepository(PaymentReviewEntity)
        .findBy({ orderNo: checkout.orderNo });
      expect(reviews).toEqual([
        expect.objectContaining({
          kind: 'AMOUNT_MISMATCH',
          expectedFen: checkout.amount,
          reportedFen: totalFee,
        }),
      ]);
      const audited = await harness.dataSource
        .getRepository(PaymentNotificationEntity)
        .findBy({ outTradeNo: checkout.orderNo });
      expect(audited).toEqual([expect.objectContaining({ outcome: 'AMOUNT_MISMATCH', totalFee })]);
    },
  );

  describe('forged or wrong notifications', () => {
    let checkout: CheckoutBody;

    beforeAll(async () => {
      checkout = await harness.placeOrder(shopper);
    });

    async function expectUntouched() {
      expect(await harness.orderRow(checkout.orderNo)).toMatchObject({
        status: 'UNPAID',
        transactionId: null,
        paidAt: null,
      });
      expect(await harness.fulfilments(checkout.orderNo)).toEqual([]);
    }

    it('answers FAIL and changes nothing when the signature is wrong', async () => {
      const { xml } = notificationFor(checkout, { afterSigning: { cash_fee: 1 } });
      expect(await postNotification(xml)).toEqual({
        returnCode: 'FAIL',
        returnMsg: 'invalid sign',
      });
      await expectUntouched();
    });

    it('answers FAIL and changes nothing when the notification names another appid', async () => {
      const { xml } = notificationFor(checkout, { appId: 'wx0000000000000000' });
      expect(await postNotification(xml)).toEqual({
        returnCode: 'FAIL',
        returnMsg: 'appid mismatch',
      });
      await expectUntouched();
    });

    it('answers SUCCESS, keeps the order unpaid and records a review when the amount differs', async () => {
      const { xml } = notificationFor(checkout, {
        totalFee: checkout.amount + 1,
        transactionId: '4200000000202501010000000777',
      });
      // Documented policy: the evidence is kept for a person, so re-sending it would add nothing.
      expect(await postNotification(xml)).toEqual({ returnCode: 'SUCCESS', returnMsg: 'OK' });
      expect(await postNotification(xml)).toEqual({ returnCode: 'SUCCESS', returnMsg: 'OK' });
      await expectUntouched();
      const reviews = await harness.dataSource
        .getRepository(PaymentReviewEntity)
        .findBy({ orderNo: checkout.orderNo });
      expect(reviews).toEqual([
        expect.objectContaining({
          kind: 'AMOUNT_MISMATCH',
          transactionId: '4200000000202501010000000777',
          expectedFen: checkout.amount,
          reportedFen: checkout.amount + 1,
        }),
      ]);
      const audited = await harness.dataSource
        .getRepository(PaymentNotificationEntity)
        .findBy({ outTradeNo: checkout.orderNo });
      expect(audited.map((a) => a.outcome)).toEqual(['AMOUNT_MISMATCH', 'AMOUNT_MISMATCH']);
    });

    it('answers FAIL and changes nothing for an order the shop does not know', async () => {
      const fulfilmentsBefore = await harness.dataSource.getRepository(FulfilmentEntity).count();
      const { xml } = notificationFor(checkout, { outTradeNo: 'NOSUCHORDER0000000001' });
      expect(await postNotification(xml)).toEqual({
        returnCode: 'FAIL',
        returnMsg: 'handler failed',
      });
      expect(await harness.dataSource.getRepository(FulfilmentEntity).count()).toBe(
        fulfilmentsBefore,
      );
      expect(
        await harness.dataSource
          .getRepository(PaymentNotificationEntity)
          .findBy({ outTradeNo: 'NOSUCHORDER0000000001' }),
      ).toEqual([expect.objectContaining({ outcome: 'UNKNOWN_ORDER' })]);
      await expectUntouched();
    });
  });
});
