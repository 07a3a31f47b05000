import { ReconcilerService } from '../../apps/demo/src/reconciler/reconciler.service';
import { DemoHarness, type OrderBody, type Shopper } from './harness';

const MINUTE = 60_000;
/** Past the demo's 30-minute order lifetime. */
const PAST_EXPIRY_MS = 31 * MINUTE;
/** Past WeChat's rule that an order younger than 5 minutes cannot be closed. */
const PAST_CLOSE_RULE_MS = 6 * MINUTE;

describe('demo order expiry', () => {
  let harness: DemoHarness;
  let shopper: Shopper;

  beforeEach(async () => {
    harness = await DemoHarness.start();
    shopper = await harness.login();
  });

  afterEach(() => harness?.close());

  it('closes an expired unpaid order with closeorder, after which it can no longer be paid', async () => {
    const checkout = await harness.placeOrder(shopper);
    // The shop sees the order expire before WeChat applies its own expiry, so the reconciler has
    // to close it at WeChat itself.
    harness.advanceClocks(PAST_EXPIRY_MS, PAST_CLOSE_RULE_MS);
    expect(harness.wechatOrder(checkout.orderNo).tradeState).toBe('NOTPAY');

    const summary = await harness.get(ReconcilerService).runOnce();

    expect(summary.outcomes.closed).toBe(1);
    expect(harness.wechatOrder(checkout.orderNo)).toMatchObject({
      tradeState: 'CLOSED',
      closedBy: 'closeorder',
    });
    expect(await harness.orderRow(checkout.orderNo)).toMatchObject({
      status: 'CLOSED',
      closedAt: expect.any(Number),
      nextCheckAt: null,
    });
    harness.alignClocks();
    expect(harness.payAtWechat(shopper, checkout.payParams)).toEqual({
      errMsg: 'requestPayment:fail 订单已关闭',
    });
    const pay = await harness.http().post(`/api/orders/${checkout.orderNo}/pay`).set(shopper.auth);
    expect(pay.status).toBe(409);
    expect((await harness.getOrder(shopper, checkout.orderNo)).status).toBe('CLOSED');
    expect(await harness.fulfilments(checkout.orderNo)).toEqual([]);
  });

  it('closes an order WeChat has already expired without paying it', async () => {
    const checkout = await harness.placeOrder(shopper);
    harness.advanceClocks(PAST_EXPIRY_MS);

    const summary = await harness.get(ReconcilerService).runOnce();

    expect(summary.outcomes.closed).toBe(1);
    expect(harness.wechatOrder(checkout.orderNo)).toMatchObject({
      tradeState: 'CLOSED',
      closedBy: 'expiry',
    });
    expect((await harness.orderRow(checkout.orderNo)).status).toBe('CLOSED');
    expect(harness.payAtWechat(shopper, checkout.payParams).errMsg).toBe(
      'requestPayment:fail 订单已关闭',
    );
    const pay = await harness.http().post(`/api/orders/${checkout.orderNo}/pay`).set(shopper.auth);
    expect(pay.status).toBe(409);
  });
});

describe('demo cancel under WeChat’s 5-minute close rule', () => {
  let harness: DemoHarness;
  let shopper: Shopper;

  beforeAll(async () => {
    harness = await DemoHarness.start();
    shopper = await harness.login();
  });

  afterAll(() => harness?.close());

  it('keeps a young order unpaid with the cancel remembered, and closes it once WeChat allows', async () => {
    const checkout = await harness.placeOrder(shopper);

    const cancel = await harness
      .http()
      .post(`/api/orders/${checkout.orderNo}/cancel`)
      .set(shopper.auth)
      .expect(200);

    expect(cancel.body).toMatchObject({ status: 'UNPAID', cancelRequested: true });
    expect(harness.wechatOrder(checkout.orderNo).tradeState).toBe('NOTPAY');
    expect((await harness.orderRow(checkout.orderNo)).cancelRequestedAt).toEqual(
      expect.any(Number),
    );

    harness.advanceClocks(PAST_CLOSE_RULE_MS);
    const summary = await harness.get(ReconcilerService).runOnce();

    expect(summary.outcomes.closed).toBe(1);
    expect(harness.wechatOrder(checkout.orderNo)).toMatchObject({
      tradeState: 'CLOSED',
      closedBy: 'closeorder',
    });
    const order = await harness.getOrder(shopper, checkout.orderNo);
    expect(order.status).toBe('CLOSED');
    expect(order.cancelRequested).toBeUndefined();
  });
});

describe('demo cancel without a minimum order age, and health', () => {
  let harness: DemoHarness;
  let shopper: Shopper;

  beforeAll(async () => {
    harness = await DemoHarness.start({ closeOrderMinAgeMs: 0 });
    shopper = await harness.login();
  });

  afterAll(() => harness?.close());

  it('closes the order at once when WeChat accepts the close', async () => {
    const checkout = await harness.placeOrder(shopper);

    const cancel = await harness
      .http()
      .post(`/api/orders/${checkout.orderNo}/cancel`)
      .set(shopper.auth)
      .expect(200);

    expect((cancel.body as OrderBody).status).toBe('CLOSED');
    expect(harness.wechatOrder(checkout.orderNo).tradeState).toBe('CLOSED');
    expect((await harness.orderRow(checkout.orderNo)).status).toBe('CLOSED');
    expect(harness.payAtWechat(shopper, checkout.payParams).errMsg).toBe(
      'requestPayment:fail 订单已关闭',
    );
  });

  it('refuses to cancel a paid order', async () => {
    const checkout = await harness.placeOrder(shopper);
    harness.payAtWechat(shopper, checkout.payParams);
    await harness.waitForStatus(checkout.orderNo, 'PAID');

    const cancel = await harness
      .http()
      .post(`/api/orders/${checkout.orderNo}/cancel`)
      .set(shopper.auth);

    expect(cancel.status).toBe(409);
    expect((await harness.orderRow(checkout.orderNo)).status).toBe('PAID');
  });

  it('reports healthy with the database and WeChat up', async () => {
    const res = await harness.http().get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      info: { database: { status: 'up' } },
      wechat: { state: 'up', lastResult: 'ORDERNOTEXIST' },
    });
  });

  // Last in this block: it stops the simulator. The outage itself is covered by
  // test/wechat-pay-health.e2e-spec.ts; readiness must not follow WeChat.
  it('stays 200 while the database answers once WeChat cannot be reached', async () => {
    await harness.simulator.stop();

    const res = await harness.http().get('/health');

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
  });
});
