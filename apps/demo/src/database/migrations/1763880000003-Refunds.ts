import { Table, TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

const id = {
  name: 'id',
  type: 'integer',
  isPrimary: true,
  isGenerated: true,
  generationStrategy: 'increment' as const,
};
const instant = (name: string, isNullable = false) => ({ name, type: 'bigint', isNullable });
const fen = (name: string) => ({ name, type: 'bigint', isNullable: false, default: 0 });

/**
 * Refunds. Each is written, keyed by our own refund number, before WeChat hears of it, as orders
 * are. `orders.refund_reserved_fen` is the sum of an order's refunds that are not closed: a refund
 * is accepted only by a conditional update that keeps it at most `amount_fen`, so concurrent
 * requests are decided by the database. `orders.refunded_fen` is the sum of the refunds WeChat
 * reports as successful. A refund's effect on the order is one `fulfilment_reversals` row, unique
 * per refund. `orders.status` widens to hold PARTIALLY_REFUNDED.
 */
export class Refunds1763880000003 implements MigrationInterface {
  name = 'Refunds1763880000003';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('orders', [
      new TableColumn(fen('refund_reserved_fen')),
      new TableColumn(fen('refunded_fen')),
    ]);
    await this.statusLength(q, 24);
    await q.createTable(
      new Table({
        name: 'refunds',
        columns: [
          id,
          /** Our out_refund_no. */
          { name: 'refund_no', type: 'varchar', length: '64', isUnique: true },
          { name: 'order_id', type: 'integer' },
          { name: 'order_no', type: 'varchar', length: '32' },
          /** total_fee sent with the refund: the order's amount. */
          { name: 'total_fen', type: 'bigint' },
          /** refund_fee. */
          { name: 'amount_fen', type: 'bigint' },
          { name: 'reason', type: 'varchar', length: '80', isNullable: true },
          { name: 'status', type: 'varchar', length: '16' },
          /** WeChat's refund_id, once it has answered. */
          { name: 'refund_id', type: 'varchar', length: '32', isNullable: true, isUnique: true },
          { name: 'refund_channel', type: 'varchar', length: '32', isNullable: true },
          { name: 'recv_account', type: 'varchar', length: '64', isNullable: true },
          instant('success_at', true),
          /** When the reconciler should next send the refund again or ask refundquery. */
          instant('next_check_at', true),
          { name: 'check_attempts', type: 'integer', default: 0 },
          { name: 'lease_owner', type: 'varchar', length: '64', isNullable: true },
          instant('lease_until', true),
          { name: 'last_error', type: 'varchar', length: '255', isNullable: true },
          instant('created_at'),
          instant('updated_at'),
        ],
        indices: [
          { name: 'IDX_refunds_order', columnNames: ['order_id'] },
          { name: 'IDX_refunds_due', columnNames: ['next_check_at'] },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'fulfilment_reversals',
        columns: [
          id,
          { name: 'refund_id', type: 'integer', isUnique: true },
          { name: 'order_id', type: 'integer' },
          { name: 'order_no', type: 'varchar', length: '32' },
          { name: 'amount_fen', type: 'bigint' },
          instant('created_at'),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('fulfilment_reversals');
    await q.dropTable('refunds');
    await this.statusLength(q, 16);
    await q.dropColumn('orders', 'refunded_fen');
    await q.dropColumn('orders', 'refund_reserved_fen');
  }

  /**
   * PostgreSQL changes the length in place; SQLite does not enforce it, but TypeORM compares the
   * declared type, so there TypeORM's table copy declares the new length.
   */
  private async statusLength(q: QueryRunner, to: number): Promise<void> {
    if (q.connection.options.type === 'postgres') {
      await q.query(`ALTER TABLE "orders" ALTER COLUMN "status" TYPE varchar(${to})`);
      return;
    }
    const table = await q.getTable('orders');
    const status = table?.findColumnByName('status');
    if (!status) throw new Error('orders.status is missing');
    const widened = status.clone();
    widened.length = String(to);
    await q.changeColumn('orders', status, widened);
  }
}
