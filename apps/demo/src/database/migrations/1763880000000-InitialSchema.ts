import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

// Written with TypeORM's schema builder rather than raw SQL so the same migration runs on SQLite
// and PostgreSQL.
const id = {
  name: 'id',
  type: 'integer',
  isPrimary: true,
  isGenerated: true,
  generationStrategy: 'increment' as const,
};
const instant = (name: string, isNullable = false) => ({ name, type: 'bigint', isNullable });

export class InitialSchema1763880000000 implements MigrationInterface {
  name = 'InitialSchema1763880000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'users',
        columns: [
          id,
          { name: 'openid', type: 'varchar', length: '128', isUnique: true },
          instant('created_at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'sessions',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'user_id', type: 'integer' },
          instant('created_at'),
          instant('expires_at'),
        ],
        indices: [{ name: 'IDX_sessions_user', columnNames: ['user_id'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'products',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true },
          { name: 'name', type: 'varchar', length: '64' },
          { name: 'price_fen', type: 'integer' },
          { name: 'active', type: 'boolean' },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'orders',
        columns: [
          id,
          { name: 'order_no', type: 'varchar', length: '32', isUnique: true },
          { name: 'user_id', type: 'integer' },
          { name: 'openid', type: 'varchar', length: '128' },
          { name: 'app_id', type: 'varchar', length: '32' },
          { name: 'mch_id', type: 'varchar', length: '32' },
          { name: 'amount_fen', type: 'integer' },
          { name: 'description', type: 'varchar', length: '127' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'sign_type', type: 'varchar', length: '16' },
          { name: 'notify_url', type: 'varchar', length: '256' },
          { name: 'time_expire', type: 'varchar', length: '14' },
          instant('expires_at'),
          { name: 'prepay_id', type: 'varchar', length: '64', isNullable: true },
          instant('prepay_expires_at', true),
          {
            name: 'transaction_id',
            type: 'varchar',
            length: '32',
            isNullable: true,
            isUnique: true,
          },
          instant('paid_at', true),
          { name: 'paid_via', type: 'varchar', length: '16', isNullable: true },
          instant('closed_at', true),
          instant('cancel_requested_at', true),
          instant('next_check_at', true),
          { name: 'check_attempts', type: 'integer', default: 0 },
          { name: 'lease_owner', type: 'varchar', length: '64', isNullable: true },
          instant('lease_until', true),
          { name: 'last_error', type: 'varchar', length: '255', isNullable: true },
          instant('created_at'),
          instant('updated_at'),
        ],
      }),
    );
    await q.createIndex(
      'orders',
      new TableIndex({ name: 'IDX_orders_user_created', columnNames: ['user_id', 'created_at'] }),
    );
    await q.createIndex(
      'orders',
      new TableIndex({
        name: 'IDX_orders_due',
        columnNames: ['next_check_at'],
        where: "status = 'UNPAID'",
      }),
    );
    await q.createTable(
      new Table({
        name: 'order_items',
        columns: [
          id,
          { name: 'order_id', type: 'integer' },
          { name: 'product_id', type: 'integer' },
          { name: 'name', type: 'varchar', length: '64' },
          { name: 'unit_price_fen', type: 'integer' },
          { name: 'quantity', type: 'integer' },
          { name: 'line_total_fen', type: 'integer' },
        ],
        indices: [{ name: 'IDX_order_items_order', columnNames: ['order_id'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'fulfilments',
        columns: [
          id,
          { name: 'order_id', type: 'integer', isUnique: true },
          { name: 'order_no', type: 'varchar', length: '32' },
          { name: 'source', type: 'varchar', length: '16' },
          instant('created_at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'payment_notifications',
        columns: [
          id,
          instant('received_at'),
          { name: 'out_trade_no', type: 'varchar', length: '64' },
          { name: 'transaction_id', type: 'varchar', length: '32', isNullable: true },
          { name: 'total_fee', type: 'integer', isNullable: true },
          { name: 'outcome', type: 'varchar', length: '24' },
          { name: 'raw', type: 'text' },
        ],
        indices: [{ name: 'IDX_payment_notifications_order_no', columnNames: ['out_trade_no'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'payment_reviews',
        columns: [
          id,
          instant('created_at'),
          { name: 'order_no', type: 'varchar', length: '64' },
          { name: 'transaction_id', type: 'varchar', length: '32', isNullable: true },
          { name: 'kind', type: 'varchar', length: '32' },
          { name: 'expected_fen', type: 'integer', isNullable: true },
          { name: 'reported_fen', type: 'integer', isNullable: true },
          { name: 'details', type: 'text' },
        ],
        indices: [
          {
            name: 'UQ_payment_reviews_evidence',
            columnNames: ['order_no', 'kind', 'transaction_id'],
            isUnique: true,
          },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'payment_reviews',
      'payment_notifications',
      'fulfilments',
      'order_items',
      'orders',
      'products',
      'sessions',
      'users',
    ]) {
      await q.dropTable(table);
    }
  }
}
