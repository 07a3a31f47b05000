import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { EpochMsColumn, FenColumn } from '../common/columns';

/**
 * PENDING: written, WeChat's acceptance not yet known (never sent, or the answer was lost).
 * PROCESSING: WeChat accepted it. SUCCESS, CLOSED (REFUNDCLOSE, or refused by WeChat) and
 * CHANGE (the money could not reach the buyer: for a person to handle) are WeChat's final answers.
 */
export const REFUND_STATUSES = ['PENDING', 'PROCESSING', 'SUCCESS', 'CLOSED', 'CHANGE'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

@Entity('refunds')
export class RefundEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  /** Our out_refund_no: repeated unchanged on every retry of this refund. */
  @Column({ name: 'refund_no', type: 'varchar', length: 64, unique: true })
  refundNo!: string;

  @Index('IDX_refunds_order')
  @Column({ name: 'order_id', type: 'integer' })
  orderId!: number;

  @Column({ name: 'order_no', type: 'varchar', length: 32 })
  orderNo!: string;

  /** total_fee: the order's amount. */
  @FenColumn({ name: 'total_fen' })
  totalFen!: number;

  /** refund_fee. */
  @FenColumn({ name: 'amount_fen' })
  amountFen!: number;

  @Column({ type: 'varchar', length: 80, nullable: true })
  reason!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: RefundStatus;

  /** WeChat's refund_id. */
  @Column({ name: 'refund_id', type: 'varchar', length: 32, nullable: true, unique: true })
  refundId!: string | null;

  @Column({ name: 'refund_channel', type: 'varchar', length: 32, nullable: true })
  refundChannel!: string | null;

  @Column({ name: 'recv_account', type: 'varchar', length: 64, nullable: true })
  recvAccount!: string | null;

  /** The daily bill run reads the refunds that succeeded on one day. */
  @Index('IDX_refunds_success_at')
  @EpochMsColumn({ name: 'success_at', nullable: true })
  successAt!: number | null;

  @Index('IDX_refunds_due')
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
