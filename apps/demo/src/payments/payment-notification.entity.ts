import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { EpochMsColumn, FenColumn } from '../common/columns';

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
