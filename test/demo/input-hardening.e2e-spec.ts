import { DemoHarness, type Shopper } from './harness';

/** A JSON text nesting `levels` arrays around one value, written without recursion. */
function nestedJson(levels: number, inner = '1'): string {
  return '['.repeat(levels) + inner + ']'.repeat(levels);
}

describe('demo API input limits', () => {
  let harness: DemoHarness;
  let shopper: Shopper;

  beforeAll(async () => {
    harness = await DemoHarness.start();
    shopper = await harness.login();
  });

  afterAll(() => harness?.close());

  async function orderCount(): Promise<number> {
    const res = await harness.http().get('/api/orders').set(shopper.auth).expect(200);
    return (res.body as { total: number }).total;
  }

  describe('a JSON body nested 5,000 levels deep', () => {
    it('answers 400 on POST /api/orders and places no order', async () => {
      const before = await orderCount();
      const res = await harness
        .http()
        .post('/api/orders')
        .set(shopper.auth)
        .set('Content-Type', 'application/json')
        .send(`{"items":${nestedJson(5000, '{"productId":1,"quantity":1}')}}`);
      expect(res.status).toBe(400);
      expect((res.body as { message: string[] }).message).toEqual([
        'the body nests deeper than 16 levels',
      ]);
      expect(await orderCount()).toBe(before);
    });

    it('answers 400 on the unauthenticated POST /api/auth/login', async () => {
      const res = await harness
        .http()
        .post('/api/auth/login')
        .set('Content-Type', 'application/json')
        .send(`{"code":${nestedJson(5000, '"x"')}}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400 });
    });
  });

  it('answers 413 for a JSON body over 16 KiB, on login and on orders', async () => {
    const padding = 'x'.repeat(17 * 1024);
    const login = await harness
      .http()
      .post('/api/auth/login')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ code: 'abc', padding }));
    expect(login.status).toBe(413);
    const before = await orderCount();
    const order = await harness
      .http()
      .post('/api/orders')
      .set(shopper.auth)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ items: [{ productId: 1, quantity: 1 }], padding }));
    expect(order.status).toBe(413);
    expect(order.body).toMatchObject({ statusCode: 413 });
    expect(await orderCount()).toBe(before);
  });

  it.each(['1e19', '10001', '9007199254740993'])(
    'answers 400 for page=%s instead of running an enormous OFFSET',
    async (page) => {
      const res = await harness.http().get(`/api/orders?page=${page}`).set(shopper.auth);
      expect(res.status).toBe(400);
      expect((res.body as { message: string[] }).message).toEqual([
        expect.stringMatching(/^page /),
      ]);
    },
  );

  it('answers an empty page at the largest page number', async () => {
    const res = await harness.http().get('/api/orders?page=10000').set(shopper.auth).expect(200);
    expect(res.body).toMatchObject({ items: [], page: 10000 });
  });

  it.each([2 ** 31, 2 ** 53, 1e300])(
    'answers 400 naming the field for productId %d, on both databases',
    async (productId) => {
      const before = await orderCount();
      const res = await harness
        .http()
        .post('/api/orders')
        .set(shopper.auth)
        .send({ items: [{ productId, quantity: 1 }] });
      expect(res.status).toBe(400);
      expect((res.body as { message: string[] }).message).toEqual([
        expect.stringMatching(/^items\.0\.productId /),
      ]);
      expect(await orderCount()).toBe(before);
    },
  );

  describe.each([
    ['a NUL byte', 'A%00B'],
    ['33 characters', '1'.repeat(33)],
    ['a character WeChat does not allow', 'abc%20def'],
  ])('an order number with %s', (_case, orderNo) => {
    it('answers 400 on get, pay and cancel', async () => {
      const path = `/api/orders/${orderNo}`;
      for (const call of [
        harness.http().get(path),
        harness.http().post(`${path}/pay`),
        harness.http().post(`${path}/cancel`),
      ]) {
        const res = await call.set(shopper.auth);
        expect(res.status).toBe(400);
        expect((res.body as { message: string[] }).message).toEqual([
          'orderNo must be 1 to 32 letters, digits or _ - | * @',
        ]);
      }
    });
  });

  it('answers 404 for a well-formed order number that is not the user’s', async () => {
    const res = await harness.http().get('/api/orders/A1_-|*@').set(shopper.auth);
    expect(res.status).toBe(404);
  });

  it('does not announce the framework with X-Powered-By', async () => {
    const res = await harness.http().get('/api/products').expect(200);
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('serves the API description at /docs outside production', async () => {
    const res = await harness.http().get('/docs/').expect(200);
    expect(res.text).toContain('swagger');
  });
});

describe('demo API description in production', () => {
  it.each([
    [{ NODE_ENV: 'production' }, 404],
    [{ NODE_ENV: 'production', API_DOCS: 'on' }, 200],
    [{ API_DOCS: 'off' }, 404],
  ])('with %j answers %d at /docs', async (env, status) => {
    const harness = await DemoHarness.start({ env });
    try {
      expect((await harness.http().get('/docs/')).status).toBe(status);
      await harness.http().get('/api/products').expect(200);
    } finally {
      await harness.close();
    }
  });
});
