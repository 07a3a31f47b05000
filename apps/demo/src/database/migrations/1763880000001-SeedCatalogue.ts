import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The demo shop's catalogue. Prices are integer fen. */
export const SEED_PRODUCTS = [
  { id: 1, name: '云南小粒咖啡豆 250g', priceFen: 6800 },
  { id: 2, name: '手冲滤纸 100 张', priceFen: 1990 },
  { id: 3, name: '陶瓷马克杯', priceFen: 4500 },
  { id: 4, name: '冷萃咖啡液 6 瓶装', priceFen: 8990 },
  { id: 5, name: '试饮装（1 分钱测试商品）', priceFen: 1 },
] as const;

export class SeedCatalogue1763880000001 implements MigrationInterface {
  name = 'SeedCatalogue1763880000001';

  // Constant rows written as literals: placeholders differ between SQLite (?) and PostgreSQL ($1).
  async up(q: QueryRunner): Promise<void> {
    const rows = SEED_PRODUCTS.map(
      (p) => `(${p.id}, '${p.name.replace(/'/g, "''")}', ${p.priceFen}, true)`,
    );
    await q.query(`INSERT INTO products (id, name, price_fen, active) VALUES ${rows.join(', ')}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `DELETE FROM products WHERE id IN (${SEED_PRODUCTS.map((p) => p.id).join(', ')})`,
    );
  }
}
