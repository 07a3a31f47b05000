import { PaymentNotificationEntity } from '../../apps/demo/src/payments/payment-notification.entity';
import { DemoHarness } from './harness';

describe.each([
  { signType: 'HMAC-SHA256' as const, signLength: 64 },
  { signType: 'MD5' as const, signLength: 32 },
])('demo checkout, shop signing with $signType', ({ signType, signLength }) => {
  let harness: DemoHarness;

  beforeAll(async () => {
    harness = await DemoHarness.start({ signType });
  });

  afterAll(() => harness?.close());

  it('takes a user from login to a paid, fulfilled order through the notification', async () => {
    const shopper = await harness.login();

    const products = await harness.http().get('/api/products').expect(200);
    expect(products.body).toEqual(
      expect.arrayContaining([
        { id: 1, name: expect.any(String), priceFen: 6800 },
        { id: 2, name: expect.any(String), priceFen: 1990 },
      ]),
    );

    const checkout = await harness.placeOrder(shopper, [
      { productId: 1, quantity: 2 },
      { productId: 2, quantity: 1 },
    ]);
    expect(checkout).toMatchObject({ status: 'UNPAID', amount: 2 * 6800 + 1990 });
    expect(checkout.payParams.signType).toBe(signType);
    expect(checkout.payParams.paySign).toHaveLength(signLength);
    expect(harness.wechatOrder(checkout.orderNo)).toMatchObject({
      tradeState: 'NOTPAY',
      totalFee: 2 * 6800 + 1990,
      openid: shopper.openid,
      signType,
      notifyUrl: harness.primary.config.wechat.notifyUrl,
    });

    expect(harness.payAtWechat(shopper, checkout.payParams)).toEqual({
      errMsg: 'requestPayment:ok',
    });
    await harness.waitForDelivery(checkout.orderNo);

    const order = await harness.getOrder(shopper, checkout.orderNo);
    expect(order).toMatchObject({ status: 'PAID', paidAt: expect.any(String) });
    const row = await harness.orderRow(checkout.orderNo);
    expect(row).toMatchObject({
      status: 'PAID',
      paidVia: 'notify',
      transactionId: harness.wechatOrder(checkout.orderNo).transactionId,
    });
    const fulfilments = await harness.fulfilments(checkout.orderNo);
    expect(fulfilments).toEqual([expect.objectContaining({ orderId: row.id, source: 'notify' })]);
    const audit = await harness.dataSource
      .getRepository(PaymentNotificationEntity)
      .findBy({ outTradeNo: checkout.orderNo });
    expect(audit).toEqual([
      expect.objectContaining({
        outcome: 'PAID',
        totalFee: 2 * 6800 + 1990,
        transactionId: row.transactionId,
      }),
    ]);
  });
});
