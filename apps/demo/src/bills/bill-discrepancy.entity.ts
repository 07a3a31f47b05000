import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { EpochMsColumn, FenColumn } from '../common/columns';
import type { DiscrepancyKind } from './bill-comparison';

/**
 * One problem a bill run found. Unique per date, kind and subject (the order, or the order's
 * refund): a re-run updates the row it finds again instead of adding one, and stamps it with its
 * attempt, so the findings of the latest run are those with the run's attempt.
 */
@Entity('bill_discrepancies')
@Index('UQ_bill_discrepancies_finding', ['billDate', 'kind', 'subject'], { unique: true })
export class BillDiscrepancyEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ name: 'bill_date', type: 'varchar', length: 8 })
  billDate!: string;

  @Column({ type: 'varchar', length: 32 })
  kind!: DiscrepancyKind;

  /** order_no, or order_no/refund_no for a refund. */
  @Column({ type: 'varchar', length: 100 })
  subject!: string;

  @Column({ name: 'order_no', type: 'varchar', length: 32 })
  orderNo!: string;

  @Column({ name: 'refund_no', type: 'varchar', length: 64, nullable: true })
  refundNo!: string | null;

  @Column({ name: 'transaction_id', type: 'varchar', length: 32, nullable: true })
  transactionId!: string | null;

  @FenColumn({ name: 'wechat_fen', nullable: true })
  wechatFen!: number | null;

  @FenColumn({ name: 'our_fen', nullable: true })
  ourFen!: number | null;

  @Column({ type: 'varchar', length: 255 })
  detail!: string;

  /** 1 once a run settled it (a payment recorded here through orderquery); never goes back to 0. */
  @Column({ type: 'integer', default: 0 })
  repaired!: number;

  /** The bill_runs attempt that last found it. */
  @Column({ name: 'seen_attempt', type: 'integer' })
  seenAttempt!: number;

  @EpochMsColumn({ name: 'first_seen_at' })
  firstSeenAt!: number;

  @EpochMsColumn({ name: 'last_seen_at' })
  lastSeenAt!: number;
}
