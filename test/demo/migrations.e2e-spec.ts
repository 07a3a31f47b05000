import { DataSource } from 'typeorm';
import {
  buildDataSourceOptions,
  MIGRATIONS,
} from '../../apps/demo/src/database/data-source-options';
import { OrderItemEntity } from '../../apps/demo/src/orders/order-item.entity';
import { PaymentReviewEntity } from '../../apps/demo/src/payments/payment-review.entity';
import { SEED_PRODUCTS } from '../../apps/demo/src/database/migrations/1763880000001-SeedCatalogue';
import { createTestDatabase, isPostgres, type TestDatabase } from './harness';

describe(`demo migrations on ${isPostgres ? 'PostgreSQL' : 'SQLite'}`, () => {
  let database: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await new DataSource(buildDataSourceOptions(database.url)).initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  it('build exactly the schema the entities describe, so migration:generate has nothing to add', async () => {
    await dataSource.runMigrations({ transaction: 'all' });
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('seed the catalogue with integer fen prices', async () => {
    const rows = await dataSource.query('SELECT id, price_fen FROM products ORDER BY id');
    expect(
      rows.map((r: { id: number; price_fen: number }) => [Number(r.id), Number(r.price_fen)]),
    ).toEqual(SEED_PRODUCTS.map((p) => [p.id, p.priceFen]));
  });

  it('store and read back fen amounts up to Number.MAX_SAFE_INTEGER as numbers', async () => {
    const reviews = dataSource.getRepository(PaymentReviewEntity);
    const saved = await reviews.save(
      reviews.create({
        createdAt: Date.now(),
        orderNo: 'FEN-ROUND-TRIP',
        transactionId: null,
        kind: 'AMOUNT_MISMATCH',
        expectedFen: 2 ** 31,
        reportedFen: Number.MAX_SAFE_INTEGER,
        details: '{}',
      }),
    );
    expect(await reviews.findOneByOrFail({ id: saved.id })).toMatchObject({
      expectedFen: 2 ** 31,
      reportedFen: Number.MAX_SAFE_INTEGER,
    });
    await reviews.delete({ id: saved.id });
  });

  it('refuse to write a fen amount that is not a safe integer', async () => {
    const items = dataSource.getRepository(OrderItemEntity);
    await expect(
      items.insert({
        orderId: 1,
        productId: 1,
        name: 'x',
        unitPriceFen: 0.1,
        quantity: 1,
        lineTotalFen: 0.1,
      }),
    ).rejects.toThrow(/safe integer/);
    expect(await items.count()).toBe(0);
  });

  it('revert cleanly down to an empty schema and apply again, keeping the amounts', async () => {
    for (let i = 0; i < MIGRATIONS.length; i++) {
      await dataSource.undoLastMigration({ transaction: 'all' });
    }
    expect(await dataSource.createQueryRunner().hasTable('orders')).toBe(false);
    await dataSource.runMigrations({ transaction: 'all' });
    expect(await dataSource.createQueryRunner().hasTable('orders')).toBe(true);

    // Amounts written under the 32-bit schema survive the conversion to 64 bits.
    await dataSource.undoLastMigration({ transaction: 'all' });
    await dataSource.query('UPDATE products SET price_fen = 2147483647 WHERE id = 1');
    await dataSource.runMigrations({ transaction: 'all' });
    const [row] = await dataSource.query('SELECT price_fen FROM products WHERE id = 1');
    expect(Number((row as { price_fen: string | number }).price_fen)).toBe(2147483647);
  });
});
