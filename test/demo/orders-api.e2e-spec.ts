import { DemoHarness, type CheckoutBody, type OrderBody, type Shopper } from './harness';

describe('demo orders API', () => {
  let harness: DemoHarness;
  let alice: Shopper;
  let bob: Shopper;

  beforeAll(async () => {
    harness = await DemoHarness.start();
    [alice, bob] = await Promise.all([harness.login('alice'), harness.login('bob')]);
  });

  afterEach(() => harness.simulator.controls.resetFaults());

  afterAll(() => harness?.close());

  describe('another user', () => {
    let alicesOrder: CheckoutBody;

    beforeAll(async () => {
      alicesOrder = await harness.placeOrder(alice);
    });

    it('gets 404 when reading, paying or cancelling an order that is not theirs', async () => {
      const path = `/api/orders/${alicesOrder.orderNo}`;
      const missing = { statusCode: 404, message: `order ${alicesOrder.orderNo} not found` };
      expect((await harness.http().get(path).set(bob.auth)).body).toMatchObject(missing);
      expect((await harness.http().post(`${path}/pay`).set(bob.auth)).body).toMatchObject(missing);
      expect((await harness.http().post(`${path}/cancel`).set(bob.auth)).body).toMatchObject(
        missing,
      );
      expect(await harness.orderRow(alicesOrder.orderNo)).toMatchObject({
        status: 'UNPAID',
        cancelRequestedAt: null,
      });
      expect(harness.wechatOrder(alicesOrder.orderNo).tradeState).toBe('NOTPAY');
    });

    it('does not see the order in their list', async () => {
      const bobs = await harness.http().get('/api/orders').set(bob.auth).expect(200);
      expect((bobs.body as { items: OrderBody[] }).items.map((o) => o.orderNo)).not.toContain(
        alicesOrder.orderNo,
      );
      const alices = await harness.http().get('/api/orders').set(alice.auth).expect(200);
      expect((alices.body as { items: OrderBody[] }).items.map((o) => o.orderNo)).toContain(
        alicesOrder.orderNo,
      );
    });
  });

  it('charges the catalogue total and ignores an amount sent by the client', async () => {
    const res = await harness
      .http()
      .post('/api/orders')
      .set(alice.auth)
      .send({ items: [{ productId: 3, quantity: 2, price: 1 }], amount: 1, totalFee: 1 })
      .expect(201);
    const checkout = res.body as CheckoutBody;
    expect(checkout.amount).toBe(2 * 4500);
    expect(checkout.items).toEqual([
      expect.objectContaining({
        productId: 3,
        quantity: 2,
        unitPriceFen: 4500,
        lineTotalFen: 9000,
      }),
    ]);
    expect((await harness.orderRow(checkout.orderNo)).amountFen).toBe(9000);
    expect(harness.wechatOrder(checkout.orderNo).totalFee).toBe(9000);
  });

  it.each([
    ['the items are missing', {}, /^items /],
    ['a quantity is 0', { items: [{ productId: 1, quantity: 0 }] }, /^items\.0\.quantity /],
    [
      'a productId is not an integer',
      { items: [{ productId: 'abc', quantity: 1 }] },
      /^items\.0\.productId /,
    ],
    [
      'a productId is not in the catalogue',
      { items: [{ productId: 999, quantity: 1 }] },
      /^items\.0\.productId 999 /,
    ],
  ])('answers 400 naming the field when %s', async (_case, body, field) => {
    const before = await harness.http().get('/api/orders').set(alice.auth).expect(200);
    const res = await harness.http().post('/api/orders').set(alice.auth).send(body);
    expect(res.status).toBe(400);
    const messages = (res.body as { message: string[] }).message;
    expect(messages).toEqual(expect.arrayContaining([expect.stringMatching(field)]));
    const after = await harness.http().get('/api/orders').set(alice.auth).expect(200);
    expect((after.body as { total: number }).total).toBe((before.body as { total: number }).total);
  });

  it.each([
    ['no token', {}],
    ['a forged token', { Authorization: `Bearer ${'A'.repeat(43)}.${'B'.repeat(43)}` }],
    ['a malformed header', { Authorization: 'Token abc' }],
  ])('answers 401 with %s', async (_case, headers) => {
    for (const call of [
      harness.http().get('/api/orders').set(headers),
      harness
        .http()
        .post('/api/orders')
        .set(headers)
        .send({ items: [{ productId: 1, quantity: 1 }] }),
    ]) {
      const res = await call;
      expect(res.status).toBe(401);
    }
  });

  it('answers 503 with retryable true, the order number and a retry path when unifiedorder fails', async () => {
    harness.simulator.controls.setFaults({
      systemErrorNext: 1,
      systemErrorPaths: ['/pay/unifiedorder'],
    });
    const shopper = await harness.login();
    const res = await harness
      .http()
      .post('/api/orders')
      .set(shopper.auth)
      .send({ items: [{ productId: 4, quantity: 1 }] });
    expect(res.status).toBe(503);
    const body = res.body as { message: string; orderNo: string; retryPath: string };
    expect(body).toMatchObject({ statusCode: 503, error: 'BUSINESS', retryable: true });
    expect(body.message).toMatch(/retry/);
    expect(body.retryPath).toBe(`/api/orders/${body.orderNo}/pay`);

    const list = await harness.http().get('/api/orders').set(shopper.auth).expect(200);
    expect(list.body).toMatchObject({ total: 1 });
    const [order] = (list.body as { items: OrderBody[] }).items;
    expect(order).toMatchObject({ orderNo: body.orderNo, status: 'UNPAID', amount: 8990 });
    expect(harness.simulator.controls.order(body.orderNo)).toBeUndefined();

    harness.simulator.controls.resetFaults();
    const retry = await harness.http().post(body.retryPath).set(shopper.auth).expect(200);
    const { payParams } = retry.body as CheckoutBody;
    expect(harness.payAtWechat(shopper, payParams)).toEqual({ errMsg: 'requestPayment:ok' });
    await harness.waitForDelivery(body.orderNo);
    expect(await harness.getOrder(shopper, body.orderNo)).toMatchObject({ status: 'PAID' });
    expect(await harness.fulfilments(body.orderNo)).toHaveLength(1);
  });

  it('answers 409 without a retry path for an order that is already paid', async () => {
    const checkout = await harness.placeOrder(alice);
    harness.payAtWechat(alice, checkout.payParams);
    await harness.waitForStatus(checkout.orderNo, 'PAID');
    const res = await harness.http().post(`/api/orders/${checkout.orderNo}/pay`).set(alice.auth);
    expect(res.status).toBe(409);
    expect(res.body).not.toHaveProperty('retryPath');
  });

  it('hands out pay parameters for the same prepay_id when a live order is paid again', async () => {
    const checkout = await harness.placeOrder(alice);
    const again = await harness
      .http()
      .post(`/api/orders/${checkout.orderNo}/pay`)
      .set(alice.auth)
      .expect(200);
    const payParams = (again.body as CheckoutBody).payParams;
    expect(payParams.package).toBe(checkout.payParams.package);
    expect(payParams.package).toBe(`prepay_id=${harness.wechatOrder(checkout.orderNo).prepayId}`);
    expect(harness.payAtWechat(alice, payParams)).toEqual({ errMsg: 'requestPayment:ok' });
    await harness.waitForStatus(checkout.orderNo, 'PAID');

    const paidAgain = await harness
      .http()
      .post(`/api/orders/${checkout.orderNo}/pay`)
      .set(alice.auth);
    expect(paidAgain.status).toBe(409);
  });

  it('lists a user’s orders newest first, a page at a time', async () => {
    const shopper = await harness.login();
    const placed: string[] = [];
    for (let i = 0; i < 3; i++) placed.push((await harness.placeOrder(shopper)).orderNo);

    const page = async (n: number) =>
      (await harness.http().get(`/api/orders?page=${n}&pageSize=2`).set(shopper.auth).expect(200))
        .body as { items: OrderBody[]; page: number; pageSize: number; total: number };
    const first = await page(1);
    const second = await page(2);
    const third = await page(3);

    expect(first).toMatchObject({ page: 1, pageSize: 2, total: 3 });
    expect(second).toMatchObject({ page: 2, pageSize: 2, total: 3 });
    expect([...first.items, ...second.items].map((o) => o.orderNo)).toEqual([...placed].reverse());
    expect(third.items).toEqual([]);
    const tooBig = await harness.http().get('/api/orders?pageSize=101').set(shopper.auth);
    expect(tooBig.status).toBe(400);
  });
});
