import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

const id = {
  name: 'id',
  type: 'integer',
  isPrimary: true,
  isGenerated: true,
  generationStrategy: 'increment' as const,
};
const instant = (name: string, isNullable = false) => ({ name, type: 'bigint', isNullable });
const count = (name: string) => ({ name, type: 'integer', default: 0 });
const fen = (name: string) => ({ name, type: 'bigint', default: 0 });

/**
 * The daily reconciliation of WeChat's bill with the orders and refunds tables: one `bill_runs`
 * row per bill date (claimed by an insert or a conditional update, so one instance runs a date at
 * a time) and one `bill_discrepancies` row per problem, unique per date, kind and subject so a
 * re-run adds none twice.
 */
export class BillReconciliation1763880000005 implements MigrationInterface {
  name = 'BillReconciliation1763880000005';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'bill_runs',
        columns: [
          id,
          { name: 'bill_date', type: 'varchar', length: '8', isUnique: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'attempt', type: 'integer', default: 1 },
          { name: 'run_by', type: 'varchar', length: '16' },
          { name: 'lease_owner', type: 'varchar', length: '96', isNullable: true },
          instant('lease_until', true),
          { name: 'bill', type: 'varchar', length: '8', isNullable: true },
          count('wechat_payments'),
          fen('wechat_payments_fen'),
          count('wechat_refunds'),
          fen('wechat_refunds_fen'),
          count('our_payments'),
          fen('our_payments_fen'),
          count('our_refunds'),
          fen('our_refunds_fen'),
          count('discrepancy_count'),
          count('repaired_count'),
          { name: 'last_error', type: 'varchar', length: '255', isNullable: true },
          instant('started_at'),
          instant('finished_at', true),
          { name: 'duration_ms', type: 'integer', isNullable: true },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'bill_discrepancies',
        columns: [
          id,
          { name: 'bill_date', type: 'varchar', length: '8' },
          { name: 'kind', type: 'varchar', length: '32' },
          { name: 'subject', type: 'varchar', length: '100' },
          { name: 'order_no', type: 'varchar', length: '32' },
          { name: 'refund_no', type: 'varchar', length: '64', isNullable: true },
          { name: 'transaction_id', type: 'varchar', length: '32', isNullable: true },
          { name: 'wechat_fen', type: 'bigint', isNullable: true },
          { name: 'our_fen', type: 'bigint', isNullable: true },
          { name: 'detail', type: 'varchar', length: '255' },
          { name: 'repaired', type: 'integer', default: 0 },
          { name: 'seen_attempt', type: 'integer' },
          instant('first_seen_at'),
          instant('last_seen_at'),
        ],
        indices: [
          {
            name: 'UQ_bill_discrepancies_finding',
            columnNames: ['bill_date', 'kind', 'subject'],
            isUnique: true,
          },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('bill_discrepancies');
    await q.dropTable('bill_runs');
  }
}
