import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The daily bill run reads the shop's side of one Beijing day: the orders paid in it and the
 * refunds that succeeded in it. Without these indexes each run scanned both tables whole, a cost
 * that grew with every day the shop kept.
 */
export class BillDayIndexes1763880000006 implements MigrationInterface {
  name = 'BillDayIndexes1763880000006';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex(
      'orders',
      new TableIndex({ name: 'IDX_orders_paid_at', columnNames: ['paid_at'] }),
    );
    await q.createIndex(
      'refunds',
      new TableIndex({ name: 'IDX_refunds_success_at', columnNames: ['success_at'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('refunds', 'IDX_refunds_success_at');
    await q.dropIndex('orders', 'IDX_orders_paid_at');
  }
}
