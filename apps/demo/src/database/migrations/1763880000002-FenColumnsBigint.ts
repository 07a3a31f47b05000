import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Every column holding fen, by table. */
const FEN_COLUMNS: Record<string, Array<{ name: string; nullable: boolean }>> = {
  products: [{ name: 'price_fen', nullable: false }],
  orders: [{ name: 'amount_fen', nullable: false }],
  order_items: [
    { name: 'unit_price_fen', nullable: false },
    { name: 'line_total_fen', nullable: false },
  ],
  payment_notifications: [{ name: 'total_fee', nullable: true }],
  payment_reviews: [
    { name: 'expected_fen', nullable: true },
    { name: 'reported_fen', nullable: true },
  ],
};

/**
 * Fen columns become 64-bit. A signed notification may report any amount WeChat sends; on
 * PostgreSQL a 32-bit column refused 2^31 fen and more, so the notification failed on every retry
 * instead of being recorded for review.
 *
 * PostgreSQL converts in place (TypeORM's changeColumn would drop and re-add a column whose type
 * changes, losing its data). SQLite stores every integer in up to 8 bytes already; only the
 * declared type changes there, by TypeORM's table copy.
 */
export class FenColumnsBigint1763880000002 implements MigrationInterface {
  name = 'FenColumnsBigint1763880000002';

  async up(q: QueryRunner): Promise<void> {
    await this.convert(q, 'integer', 'bigint');
  }

  async down(q: QueryRunner): Promise<void> {
    await this.convert(q, 'bigint', 'integer');
  }

  private async convert(q: QueryRunner, from: string, to: string): Promise<void> {
    for (const [table, columns] of Object.entries(FEN_COLUMNS)) {
      if (q.connection.options.type === 'postgres') {
        const alters = columns.map((c) => `ALTER COLUMN "${c.name}" TYPE ${to}`).join(', ');
        await q.query(`ALTER TABLE "${table}" ${alters}`);
        continue;
      }
      await q.changeColumns(
        table,
        columns.map((c) => ({
          oldColumn: new TableColumn({ name: c.name, type: from, isNullable: c.nullable }),
          newColumn: new TableColumn({ name: c.name, type: to, isNullable: c.nullable }),
        })),
      );
    }
  }
}
