import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { EpochMsColumn, FenColumn } from './columns';

export type OrderStatus = 'UNPAID' | 'PAID' | 'CLOSED';
/** How the shop learned that an order was paid. */
export type PaymentSource = 'notify' | 'query' | 'reconciler';

@Entity('users')
export class UserEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 128, unique: true })
  openid!: string;

  @EpochMsColumn({ name: 'created_at' })
  createdAt!: number;
}

/** A login session. Only a hash of the token's secret part is stored. */
@Entity('sessions')
export class SessionEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Index('IDX_sessions_user')
  @Column({ name: 'user_id', type: 'integer' })
  userId!: number;

  @EpochMsColumn({ name: 'created_at' })
  createdAt!: number;

  @EpochMsColumn({ name: 'expires_at' })
  expiresAt!: number;
}

@Entity('products')
export class ProductEntity {
  @PrimaryColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'varchar', length: 64 })
  name!: string;

  /** Integer fen. */
  @FenColumn({ name: 'price_fen' })
  priceFen!: number;

  @Column({ type: 'boolean' })
  active!: boolean;
}

@Entity('orders')
@Index('IDX_orders_user_created', ['userId', 'createdAt'])
// The reconciler's selection: a partial index holding only unpaid orders, ordered by due time, so
// a pass costs what the due orders cost, however many paid and closed orders the table keeps.
@Index('IDX_orders_due', ['nextCheckAt'], { where: "status = 'UNPAID'" })
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

  @Column({ type: 'varchar', length: 16 })
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

  @Column({ name: 'last_error', type: 'varchar', length: 255, nullable: true })
  lastError!: string | null;

  @EpochMsColumn({ name: 'created_at' })
  createdAt!: number;

  @EpochMsColumn({ name: 'updated_at' })
  updatedAt!: number;
}

@Entity('order_items')
export class OrderItemEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('IDX_order_items_order')
  @Column({ name: 'order_id', type: 'integer' })
  orderId!: number;

  @Column({ name: 'product_id', type: 'integer' })
  productId!: number;

  @Column({ type: 'varchar', length: 64 })
  name!: string;

  @FenColumn({ name: 'unit_price_fen' })
  unitPriceFen!: number;

  @Column({ type: 'integer' })
  quantity!: number;

  @FenColumn({ name: 'line_total_fen' })
  lineTotalFen!: number;
}

/** One row per fulfilment; the unique order_id is what makes fulfilment happen exactly once. */
@Entity('fulfilments')
export class FulfilmentEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ name: 'order_id', type: 'integer', unique: true })
  orderId!: number;

  @Column({ name: 'order_no', type: 'varchar', length: 32 })
  orderNo!: string;

  @Column({ type: 'varchar', length: 16 })
  source!: PaymentSource;

  @EpochMsColumn({ name: 'created_at' })
  createdAt!: number;
}

export type NotificationOutcome =
  | 'PAID'
  | 'DUPLICATE'
  | 'UNKNOWN_ORDER'
  | 'AMOUNT_MISMATCH'
  | 'MERCHANT_MISMATCH'
  | 'PAID_AFTER_CLOSE';

/** Every verified notification the shop receives, kept for audit. */
@Entity('payment_notifications')
export class PaymentNotificationEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @EpochMsColumn({ name: 'received_at' })
  receivedAt!: number;

  @Index('IDX_payment_notifications_order_no')
  @Column({ name: 'out_trade_no', type: 'varchar', length: 64 })
  outTradeNo!: string;

  @Column({ name: 'transaction_id', type: 'varchar', length: 32, nullable: true })
  transactionId!: string | null;

  @FenColumn({ name: 'total_fee', nullable: true })
  totalFee!: number | null;

  @Column({ type: 'varchar', length: 24 })
  outcome!: NotificationOutcome;

  /** The notification's fields as JSON (it carries no secret). */
  @Column({ type: 'text' })
  raw!: string;
}

export type ReviewKind = 'AMOUNT_MISMATCH' | 'MERCHANT_MISMATCH' | 'PAID_AFTER_CLOSE';

/** Payments that need a person: never applied automatically, never lost. */
@Entity('payment_reviews')
@Index('UQ_payment_reviews_evidence', ['orderNo', 'kind', 'transactionId'], { unique: true })
export class PaymentReviewEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @EpochMsColumn({ name: 'created_at' })
  createdAt!: number;

  @Column({ name: 'order_no', type: 'varchar', length: 64 })
  orderNo!: string;

  @Column({ name: 'transaction_id', type: 'varchar', length: 32, nullable: true })
  transactionId!: string | null;

  @Column({ type: 'varchar', length: 32 })
  kind!: ReviewKind;

  @FenColumn({ name: 'expected_fen', nullable: true })
  expectedFen!: number | null;

  @FenColumn({ name: 'reported_fen', nullable: true })
  reportedFen!: number | null;

  @Column({ type: 'text' })
  details!: string;
}

export const ENTITIES = [
  UserEntity,
  SessionEntity,
  ProductEntity,
  OrderEntity,
  OrderItemEntity,
  FulfilmentEntity,
  PaymentNotificationEntity,
  PaymentReviewEntity,
];
