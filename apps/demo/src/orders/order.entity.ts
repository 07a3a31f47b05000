import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { EpochMsColumn, FenColumn } from '../common/columns';
import type { Row } from '../database/statement';
import type { OrderStatus } from './order-machine';

/** How the shop learned that an order was paid (`bill`: the daily bill reconciliation found it). */
export type PaymentSource = 'notify' | 'query' | 'reconciler' | 'bill';

@Entity('orders')
@Index('IDX_orders_user_created', ['userId', 'createdAt'])
// The reconciler's selection: a partial index holding only unpaid orders, ordered by due time, so
// a pass costs what the due orders cost, however many paid and closed orders the table keeps.
@Index('IDX_orders_due', ['nextCheckAt'], { where: "status = 'UNPAID'" })
// The daily bill run reads the orders paid on one day.
@Index('IDX_orders_paid_at', ['paidAt'])
export class OrderEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  /** Our out_trade_no. */
  @Column({ name: 'order_no', type: 'varchar', length: 32, unique: true })
  orderNo!: string;

  @Column({ name: 'user_id', type: 'integer' })
  userId!: number;

  @Column({ type: 'varchar', length: 128 })
  openid!: string;

  @Column({ name: 'app_id', type: 'varchar', length: 32 })
  appId!: string;

  @Column({ name: 'mch_id', type: 'varchar', length: 32 })
  mchId!: string;

  /** Integer fen, computed on the server from the catalogue. */
  @FenColumn({ name: 'amount_fen' })
  amountFen!: number;

  @Column({ type: 'varchar', length: 127 })
  description!: string;

  @Column({ type: 'varchar', length: 24 })
  status!: OrderStatus;

  @Column({ name: 'sign_type', type: 'varchar', length: 16 })
  signType!: string;

  /** The notify_url sent with the first unifiedorder: a re-entry must repeat it exactly. */
  @Column({ name: 'notify_url', type: 'varchar', length: 256 })
  notifyUrl!: string;

  /** The exact time_expire text sent to WeChat (Beijing time), repeated on re-entry. */
  @Column({ name: 'time_expire', type: 'varchar', length: 14 })
  timeExpire!: string;

  @EpochMsColumn({ name: 'expires_at' })
  expiresAt!: number;

  @Column({ name: 'prepay_id', type: 'varchar', length: 64, nullable: true })
  prepayId!: string | null;

  @EpochMsColumn({ name: 'prepay_expires_at', nullable: true })
  prepayExpiresAt!: number | null;

  @Column({ name: 'transaction_id', type: 'varchar', length: 32, nullable: true, unique: true })
  transactionId!: string | null;

  @EpochMsColumn({ name: 'paid_at', nullable: true })
  paidAt!: number | null;

  @Column({ name: 'paid_via', type: 'varchar', length: 16, nullable: true })
  paidVia!: PaymentSource | null;

  @EpochMsColumn({ name: 'closed_at', nullable: true })
  closedAt!: number | null;

  @EpochMsColumn({ name: 'cancel_requested_at', nullable: true })
  cancelRequestedAt!: number | null;

  /** When the reconciler should next ask WeChat about this unpaid order. */
  @EpochMsColumn({ name: 'next_check_at', nullable: true })
  nextCheckAt!: number | null;

  @Column({ name: 'check_attempts', type: 'integer', default: 0 })
  checkAttempts!: number;

  @Column({ name: 'lease_owner', type: 'varchar', length: 64, nullable: true })
  leaseOwner!: string | null;

  @EpochMsColumn({ name: 'lease_until', nullable: true })
  leaseUntil!: number | null;

  /** The sum of this order's refunds that are not closed; never more than amount_fen. */
  @FenColumn({ name: 'refund_reserved_fen', default: 0 })
  refundReservedFen!: number;

  /** The sum of this order's refunds that WeChat reports successful. */
  @FenColumn({ name: 'refunded_fen', default: 0 })
  refundedFen!: number;

  @Column({ name: 'last_error', type: 'varchar', length: 255, nullable: true })
  lastError!: string | null;

  @EpochMsColumn({ name: 'created_at' })
  createdAt!: number;

  @EpochMsColumn({ name: 'updated_at' })
  updatedAt!: number;
}

/** The columns the prepared statements read, in the entity's order. */
export const ORDER_COLUMNS =
  'id, order_no, user_id, openid, app_id, mch_id, amount_fen, description, status, sign_type, ' +
  'notify_url, time_expire, expires_at, prepay_id, prepay_expires_at, transaction_id, paid_at, ' +
  'paid_via, closed_at, cancel_requested_at, next_check_at, check_attempts, lease_owner, ' +
  'lease_until, refund_reserved_fen, refunded_fen, last_error, created_at, updated_at';

/** The column of an order field: every column is its field's name in snake_case. */
export function orderColumn(field: keyof OrderEntity): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

const integer = (value: unknown) => Number(value);
const maybeInteger = (value: unknown) => (value === null ? null : Number(value));

/**
 * An order from a row of ORDER_COLUMNS. PostgreSQL returns BIGINT as a string and SQLite as a
 * number; both become numbers, as the entity's column transformers make them.
 */
export function orderFromRow(row: Row): OrderEntity {
  return Object.assign(new OrderEntity(), {
    id: integer(row.id),
    orderNo: row.order_no as string,
    userId: integer(row.user_id),
    openid: row.openid as string,
    appId: row.app_id as string,
    mchId: row.mch_id as string,
    amountFen: integer(row.amount_fen),
    description: row.description as string,
    status: row.status as OrderStatus,
    signType: row.sign_type as string,
    notifyUrl: row.notify_url as string,
    timeExpire: row.time_expire as string,
    expiresAt: integer(row.expires_at),
    prepayId: row.prepay_id as string | null,
    prepayExpiresAt: maybeInteger(row.prepay_expires_at),
    transactionId: row.transaction_id as string | null,
    paidAt: maybeInteger(row.paid_at),
    paidVia: row.paid_via as PaymentSource | null,
    closedAt: maybeInteger(row.closed_at),
    cancelRequestedAt: maybeInteger(row.cancel_requested_at),
    nextCheckAt: maybeInteger(row.next_check_at),
    checkAttempts: integer(row.check_attempts),
    leaseOwner: row.lease_owner as string | null,
    leaseUntil: maybeInteger(row.lease_until),
    refundReservedFen: integer(row.refund_reserved_fen),
    refundedFen: integer(row.refunded_fen),
    lastError: row.last_error as string | null,
    createdAt: integer(row.created_at),
    updatedAt: integer(row.updated_at),
  });
}
