import { DemoHarness, freePort } from '../demo/harness';
import { MiniProgram, type PageInstance } from './harness';

interface CheckoutAnswer {
  orderNo: string;
  payParams: Record<string, unknown>;
}

const ADMIN_TOKEN = 'mini-program-e2e-admin-token-42';

describe('mini-program shop against the demo and the simulator', () => {
  let demo: DemoHarness;
  let mp: MiniProgram | undefined;

  beforeAll(async () => {
    demo = await DemoHarness.start({ tls: true, adminToken: ADMIN_TOKEN });
  });

  afterAll(() => demo?.close());

  afterEach(() => {
    mp?.close();
    mp = undefined;
    demo.simulator.controls.resetFaults();
  });

  function launch(apiBaseUrl = `http://127.0.0.1:${demo.primary.config.port}`): MiniProgram {
    mp = MiniProgram.launch({
      apiBaseUrl,
      simulatorUrl: demo.simulator.baseUrl,
      paymentCheck: { intervalMs: 20, attempts: 25 },
    });
    mp.config.checkoutRetryDelayMs = 10;
    return mp;
  }

  /** Opens the shop, buys one of a product and returns the order page once the sheet has answered. */
  async function buy(app: MiniProgram, productId: number): Promise<PageInstance> {
    const shop = app.currentPage;
    await app.waitFor(() => shop.data.loading === false, 'the catalogue to load');
    app.tap(shop, 'onBuy', { id: productId });
    const orderPage = await app.waitForPage('pages/order/order');
    await app.waitFor(
      () => app.payments.length > 0 && app.payments[0].errMsg !== '',
      'the payment',
    );
    return orderPage;
  }

  /** No payment under way and no confirmation being awaited. */
  function settled(page: PageInstance): boolean {
    return page.data.paying === false && page.data.confirming !== true;
  }

  it('lists the catalogue with prices in yuan formatted from fen', async () => {
    const app = launch();
    const shop = app.currentPage;
    await app.waitFor(() => shop.data.loading === false, 'the catalogue to load');

    expect(shop.route).toBe('pages/index/index');
    expect(shop.data.error).toBe('');
    expect(shop.data.products).toEqual(
      expect.arrayContaining([
        { id: 1, name: '云南小粒咖啡豆 250g', priceText: '¥68.00' },
        { id: 2, name: '手冲滤纸 100 张', priceText: '¥19.90' },
        { id: 5, name: '试饮装（1 分钱测试商品）', priceText: '¥0.01' },
      ]),
    );
  });

  it('logs in, buys, pays and shows the order paid once the shop confirms it', async () => {
    const app = launch();
    const page = await buy(app, 2);
    await app.waitFor(() => page.data.message === '支付成功', 'the page to show the payment');

    const orderNo = page.options.orderNo;
    expect(page.data.order).toMatchObject({
      orderNo,
      status: 'PAID',
      statusText: '已支付',
      items: [{ productId: 2, quantity: 1, lineTotalText: '¥19.90' }],
      amountLines: [{ key: 'total', label: '合计', amountText: '¥19.90' }],
    });
    expect(page.data).toMatchObject({ paying: false, confirming: false });
    // The sheet's ok came first, then the page waited for the shop before saying paid.
    const confirmingAt = page.setDataCalls.findIndex((patch) => patch.confirming === true);
    const paidAt = page.setDataCalls.findIndex((patch) => patch.message === '支付成功');
    expect(confirmingAt).toBeGreaterThanOrEqual(0);
    expect(paidAt).toBeGreaterThan(confirmingAt);
    expect(app.toasts).toContainEqual(
      expect.objectContaining({ title: '支付成功', icon: 'success' }),
    );
    expect(app.loadingVisible).toBe(false);

    expect(app.requestsTo('POST', /^\/api\/auth\/login$/)).toHaveLength(1);
    expect(app.storage.get('shopToken')).toEqual(expect.any(String));
    const [createOrder] = app.requestsTo('POST', /^\/api\/orders$/);
    expect(createOrder).toMatchObject({
      statusCode: 201,
      data: { items: [{ productId: 2, quantity: 1 }] },
      header: { Authorization: `Bearer ${String(app.storage.get('shopToken'))}` },
    });

    expect((await demo.orderRow(orderNo)).status).toBe('PAID');
    expect(demo.wechatOrder(orderNo)).toMatchObject({ tradeState: 'SUCCESS', totalFee: 1990 });
    expect(app.errors).toEqual([]);
  });

  it('hands wx.requestPayment exactly the five pay parameters POST /api/orders returned, as strings', async () => {
    const app = launch();
    await buy(app, 5);

    const answer = app.requestsTo('POST', /^\/api\/orders$/)[0].response as CheckoutAnswer;
    const [payment] = app.payments;
    expect(payment.params).toStrictEqual(answer.payParams);
    expect(Object.keys(payment.params).sort()).toEqual([
      'nonceStr',
      'package',
      'paySign',
      'signType',
      'timeStamp',
    ]);
    expect(payment.params.timeStamp).toEqual(expect.stringMatching(/^\d{10}$/));
    expect(payment.errMsg).toBe('requestPayment:ok');
  });

  it('keeps a cancelled order and pays it with fresh parameters from POST /pay', async () => {
    const app = launch();
    app.paymentOutcomes.push('cancel');
    const page = await buy(app, 1);
    await app.waitFor(() => page.data.paying === false, 'the page to settle after the cancel');

    expect(app.payments[0].errMsg).toBe('requestPayment:fail cancel');
    expect(page.data.message).toBe('已取消支付，订单保留，可以再次支付');
    expect(page.data.order).toMatchObject({
      status: 'UNPAID',
      amountLines: [{ key: 'total', label: '合计', amountText: '¥68.00' }],
    });
    expect(app.toasts).toContainEqual(expect.objectContaining({ title: '已取消支付' }));
    const orderNo = page.options.orderNo;
    expect((await demo.orderRow(orderNo)).status).toBe('UNPAID');

    app.tap(page, 'onPay');
    await app.waitFor(() => page.data.message === '支付成功', 'the second payment to be confirmed');

    const payAgain = app.requestsTo('POST', new RegExp(`^/api/orders/${orderNo}/pay$`));
    expect(payAgain).toEqual([expect.objectContaining({ statusCode: 200 })]);
    expect(app.payments[1].params).toStrictEqual(
      (payAgain[0].response as CheckoutAnswer).payParams,
    );
    expect(app.requestsTo('POST', /^\/api\/orders$/)).toHaveLength(1);
    expect(page.data.order).toMatchObject({ orderNo, status: 'PAID' });
    expect((await demo.orderRow(orderNo)).status).toBe('PAID');
    expect(app.errors).toEqual([]);
  });

  it('explains a failed payment and lets the user pay the same order again', async () => {
    const app = launch();
    app.paymentOutcomes.push('fail');
    const page = await buy(app, 3);
    await app.waitFor(() => page.data.paying === false, 'the page to settle after the failure');

    expect(page.data.message).toBe('支付未成功（支付失败，请稍后再试），可以再次支付');
    expect(app.modals).toContainEqual(
      expect.objectContaining({ title: '支付未成功', content: '支付失败，请稍后再试' }),
    );
    expect(page.data.order).toMatchObject({ status: 'UNPAID' });

    app.tap(page, 'onPay');
    await app.waitFor(() => page.data.message === '支付成功', 'the second payment to be confirmed');
    expect((await demo.orderRow(page.options.orderNo)).status).toBe('PAID');
    expect(app.errors).toEqual([]);
  });

  it('shows a partial refund the shop made, once WeChat reports it paid back', async () => {
    const app = launch();
    const page = await buy(app, 1);
    await app.waitFor(() => page.data.message === '支付成功', 'the page to show the payment');
    const orderNo = page.options.orderNo;

    const refund = await demo
      .http()
      .post(`/api/admin/orders/${orderNo}/refunds`)
      .set({ Authorization: `Bearer ${ADMIN_TOKEN}` })
      .send({ amountFen: 1800, reason: '少发一件' });
    expect(refund.status).toBe(201);
    await demo.waitForStatus(orderNo, 'PARTIALLY_REFUNDED');

    app.tap(page, 'onRefresh');
    await app.waitFor(
      () => (page.data.order as { status: string }).status === 'PARTIALLY_REFUNDED',
      'the refreshed order to show the refund',
    );
    expect(page.data.order).toMatchObject({
      statusText: '部分退款',
      amountLines: [
        { key: 'total', label: '合计', amountText: '¥68.00' },
        { key: 'refunded', label: '已退款', amountText: '¥18.00' },
      ],
      refunds: [{ amountText: '¥18.00', status: 'SUCCESS', statusText: '退款成功' }],
    });
    expect(app.errors).toEqual([]);
  });

  it('says the result is unconfirmed when the shop never reports PAID, and shows paid after a refresh', async () => {
    // WeChat took the money but the shop hears nothing: notifications lost, order queries failing.
    demo.simulator.controls.setFaults({
      dropNotificationRate: 1,
      systemErrorRate: 1,
      systemErrorPaths: ['/pay/orderquery'],
    });
    const app = launch();
    app.config.paymentCheck = { intervalMs: 10, attempts: 4 };
    const page = await buy(app, 4);
    await app.waitFor(() => settled(page) && page.data.message !== '', 'the polling to end');

    expect(app.payments[0].errMsg).toBe('requestPayment:ok');
    expect(page.data.message).toBe(
      '暂未确认到支付结果。如已扣款，订单稍后会自动更新为已支付，请点“刷新订单状态”或到“我的订单”查看',
    );
    expect(page.data.order).toMatchObject({ status: 'UNPAID' });
    const polls = app.requestsTo('GET', new RegExp(`^/api/orders/${page.options.orderNo}$`));
    expect(polls).toHaveLength(4);
    expect(app.toasts).not.toContainEqual(expect.objectContaining({ title: '支付成功' }));

    demo.simulator.controls.resetFaults();
    // The shop asks WeChat about an unpaid order only once it is ORDER_QUERY_AFTER_MS old; the
    // polls above may all have come sooner, so make sure the refresh is past that age.
    demo.advanceClocks(demo.primary.config.orderQueryAfterMs);
    app.tap(page, 'onRefresh');
    await app.waitFor(
      () => (page.data.order as { status: string }).status === 'PAID',
      'the refreshed order to show paid',
    );
    expect(page.data.order).toMatchObject({ statusText: '已支付' });
    expect(app.errors).toEqual([]);
  });

  describe('when WeChat cannot prepare the payment of a new order', () => {
    function failUnifiedOrder(times: number) {
      demo.simulator.controls.setFaults({
        systemErrorNext: times,
        systemErrorPaths: ['/pay/unifiedorder'],
      });
    }

    it('asks once more through the retry path and opens the payment sheet for the same order', async () => {
      failUnifiedOrder(1);
      const app = launch();
      const page = await buy(app, 2);
      await app.waitFor(() => page.data.message === '支付成功', 'the payment to be confirmed');

      const [create] = app.requestsTo('POST', /^\/api\/orders$/);
      expect(create.statusCode).toBe(503);
      const { orderNo, retryPath } = create.response as { orderNo: string; retryPath: string };
      expect(page.options.orderNo).toBe(orderNo);
      expect(app.requestsTo('POST', /\/pay$/)).toEqual([
        expect.objectContaining({ path: retryPath, statusCode: 200 }),
      ]);
      expect(app.requestsTo('POST', /^\/api\/orders$/)).toHaveLength(1);
      expect(app.modals).not.toContainEqual(expect.objectContaining({ title: '下单失败' }));
      expect((await demo.orderRow(orderNo)).status).toBe('PAID');
      expect(app.errors).toEqual([]);
    });

    it('offers to pay the order again after the retry fails too, instead of 下单失败', async () => {
      failUnifiedOrder(2);
      const app = launch();
      const shop = app.currentPage;
      await app.waitFor(() => shop.data.loading === false, 'the catalogue to load');
      app.tap(shop, 'onBuy', { id: 3 });
      const page = await app.waitForPage('pages/order/order');
      await app.waitFor(() => page.data.loading === false, 'the order to load');

      expect(page.data).toMatchObject({
        payAgain: true,
        paying: false,
        message: '订单已保留，但暂时无法发起支付，请稍后点“再次支付”',
        order: {
          status: 'UNPAID',
          amountLines: [{ key: 'total', label: '合计', amountText: '¥45.00' }],
        },
      });
      expect(app.payments).toEqual([]);
      expect(app.modals).not.toContainEqual(expect.objectContaining({ title: '下单失败' }));
      expect(app.loadingVisible).toBe(false);
      const orderNo = page.options.orderNo;
      expect(app.requestsTo('POST', /\/pay$/)).toEqual([
        expect.objectContaining({ path: `/api/orders/${orderNo}/pay`, statusCode: 503 }),
      ]);

      app.tap(page, 'onPay');
      await app.waitFor(() => page.data.message === '支付成功', 'the payment to be confirmed');
      expect(app.requestsTo('POST', /^\/api\/orders$/)).toHaveLength(1);
      expect((await demo.orderRow(orderNo)).status).toBe('PAID');
      expect(app.errors).toEqual([]);
    });

    it('still reports 下单失败 when the shop refuses the order itself', async () => {
      const app = launch();
      const shop = app.currentPage;
      await app.waitFor(() => shop.data.loading === false, 'the catalogue to load');
      app.tap(shop, 'onBuy', { id: 999 });
      await app.waitFor(() => app.modals.length > 0, 'the error to be shown');

      expect(app.modals).toEqual([
        expect.objectContaining({ title: '下单失败', content: expect.stringContaining('999') }),
      ]);
      expect(app.navigations).toEqual([]);
      expect(shop.data.buying).toBe(false);
      expect(app.errors).toEqual([]);
    });
  });

  it('lists the user’s orders with amount and status, and opens one', async () => {
    const app = launch();
    const page = await buy(app, 5);
    await app.waitFor(() => page.data.message === '支付成功', 'the payment to be confirmed');

    app.tap(page, 'onOpenOrders');
    const list = await app.waitForPage('pages/orders/orders');
    await app.waitFor(() => list.data.loading === false, 'the order list to load');

    expect(app.navigations).toContainEqual({ kind: 'redirectTo', url: '/pages/orders/orders' });
    expect(list.data.orders).toEqual([
      expect.objectContaining({
        orderNo: page.options.orderNo,
        status: 'PAID',
        statusText: '已支付',
        amountText: '¥0.01',
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d$/),
      }),
    ]);

    app.tap(list, 'onOpen', { orderNo: page.options.orderNo });
    const opened = await app.waitForPage('pages/order/order');
    await app.waitFor(() => opened.data.loading === false, 'the order to load');
    expect(opened.data.order).toMatchObject({ orderNo: page.options.orderNo, status: 'PAID' });
    expect(app.payments).toHaveLength(1);
    expect(app.errors).toEqual([]);
  });

  it('logs in again when the shop no longer accepts the stored token', async () => {
    const app = launch();
    app.storage.set('shopToken', 'a-token-from-a-session-the-shop-forgot');
    const page = await buy(app, 5);
    await app.waitFor(() => page.data.message === '支付成功', 'the payment to be confirmed');

    const [first, retry] = app.requestsTo('POST', /^\/api\/orders$/);
    expect(first.statusCode).toBe(401);
    expect(retry.statusCode).toBe(201);
    expect(app.requestsTo('POST', /^\/api\/auth\/login$/)).toHaveLength(1);
    expect(app.storage.get('shopToken')).not.toBe('a-token-from-a-session-the-shop-forgot');
  });

  describe('when the shop cannot be reached', () => {
    it('shows a clear error instead of the catalogue, and loads it on retry once the shop is back', async () => {
      const app = launch(`http://127.0.0.1:${await freePort()}`);
      const shop = app.currentPage;
      await app.waitFor(() => shop.data.loading === false, 'the catalogue request to end');

      expect(shop.data).toMatchObject({
        error: '无法连接商店服务器，请检查网络后重试',
        products: [],
      });

      app.config.apiBaseUrl = `http://127.0.0.1:${demo.primary.config.port}`;
      app.tap(shop, 'onRetry');
      await app.waitFor(() => shop.data.loading === false, 'the retried catalogue to load');
      expect(shop.data.error).toBe('');
      expect((shop.data.products as unknown[]).length).toBeGreaterThan(0);
    });

    it('tells the user why paying again did not start, and leaves the order payable', async () => {
      const app = launch();
      app.paymentOutcomes.push('cancel');
      const page = await buy(app, 2);
      await app.waitFor(() => page.data.paying === false, 'the page to settle after the cancel');

      app.config.apiBaseUrl = `http://127.0.0.1:${await freePort()}`;
      app.tap(page, 'onPay');
      await app.waitFor(
        () => page.data.paying === false && page.data.message !== '',
        'the pay-again request to fail',
      );

      expect(page.data.message).toBe('无法连接商店服务器，请检查网络后重试');
      expect(page.data.order).toMatchObject({ status: 'UNPAID' });
      expect(app.payments).toHaveLength(1);
      expect(app.loadingVisible).toBe(false);
      expect(app.errors).toEqual([]);
    });
  });
});
