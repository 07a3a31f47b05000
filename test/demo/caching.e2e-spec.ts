import { SessionEntity } from '../../apps/demo/src/auth/session.entity';
import { CATALOGUE_TTL_MS } from '../../apps/demo/src/catalog/catalog.service';
import { DemoHarness, type Shopper } from './harness';

const MINUTE = 60_000;

describe('demo reads it caches', () => {
  let harness: DemoHarness;
  let shopper: Shopper;

  beforeAll(async () => {
    harness = await DemoHarness.start();
    shopper = await harness.login();
  });

  afterAll(() => harness?.close());

  async function price(productId: number): Promise<number> {
    const checkout = await harness.placeOrder(shopper, [{ productId, quantity: 1 }]);
    expect(harness.wechatOrder(checkout.orderNo).totalFee).toBe(checkout.amount);
    return checkout.amount;
  }

  it('prices new orders at a changed price once the catalogue read has aged out', async () => {
    expect(await price(4)).toBe(8990);
    await harness.dataSource.query('UPDATE products SET price_fen = 9090 WHERE id = 4');

    harness.advanceClocks(CATALOGUE_TTL_MS);

    expect(await price(4)).toBe(9090);
    const products = await harness.http().get('/api/products').expect(200);
    expect(products.body).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 4, priceFen: 9090 })]),
    );
  });

  it('refuses a product taken off sale once the catalogue read has aged out', async () => {
    await harness.dataSource.query('UPDATE products SET active = FALSE WHERE id = 5');
    harness.advanceClocks(CATALOGUE_TTL_MS);

    const res = await harness
      .http()
      .post('/api/orders')
      .set(shopper.auth)
      .send({ items: [{ productId: 5, quantity: 1 }] });

    expect(res.status).toBe(400);
    expect((res.body as { message: string[] }).message).toEqual([
      'items.0.productId 5 is not an available product',
    ]);
  });

  it('stops accepting a session removed from the database within a minute', async () => {
    const other = await harness.login();
    await harness.http().get('/api/orders').set(other.auth).expect(200);
    await harness.dataSource.getRepository(SessionEntity).clear();

    harness.advanceClocks(MINUTE);

    await harness.http().get('/api/orders').set(other.auth).expect(401);
  });

  it('refuses a session the moment it expires, cached or not', async () => {
    const other = await harness.login();
    await harness.http().get('/api/orders').set(other.auth).expect(200);
    const [session] = await harness.dataSource
      .getRepository(SessionEntity)
      .find({ order: { createdAt: 'DESC' }, take: 1 });
    harness.advanceClocks(session.expiresAt - harness.clock.now());

    await harness.http().get('/api/orders').set(other.auth).expect(401);
  });
});
