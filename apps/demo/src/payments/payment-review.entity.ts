import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { EpochMsColumn, FenColumn } from '../common/columns';

/**
 * REFUND_CHANGE: WeChat could not pay a refund back (the buyer's card or balance refused it); the
 * merchant platform offers to send it elsewhere. Its transaction_id column holds the refund_id.
 */
export type ReviewKind =
  'AMOUNT_MISMATCH' | 'MERCHANT_MISMATCH' | 'PAID_AFTER_CLOSE' | 'REFUND_CHANGE';

/** Payments and refunds that need a person: never applied automatically, never lost. */
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
