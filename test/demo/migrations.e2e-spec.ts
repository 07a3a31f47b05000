import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../apps/demo/src/database/data-source-options';
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

  it('revert cleanly down to an empty schema and apply again', async () => {
    await dataSource.undoLastMigration({ transaction: 'all' });
    await dataSource.undoLastMigration({ transaction: 'all' });
    expect(await dataSource.createQueryRunner().hasTable('orders')).toBe(false);
    await dataSource.runMigrations({ transaction: 'all' });
    expect(await dataSource.createQueryRunner().hasTable('orders')).toBe(true);
  });
});
