import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { EpochMsColumn, FenColumn } from '../common/columns';

/**
 * RUNNING: an instance holds the run's lease and is comparing. DONE: compared (discrepancy_count
 * says whether the day is clean). NOT_READY: WeChat answered `Bill Creating`. FAILED: the run
 * stopped on an error (last_error); any of the last three can be run again, and so can a RUNNING
 * run whose lease has ended (its instance crashed).
 */
export const BILL_RUN_STATUSES = ['RUNNING', 'DONE', 'NOT_READY', 'FAILED'] as const;
export type BillRunStatus = (typeof BILL_RUN_STATUSES)[number];

/** What WeChat answered for the day: a bill, or `No Bill Exist` (a day without trades). */
export type BillAnswerKind = 'FOUND' | 'NO_BILL';

/** Who started a run. */
export type BillRunTrigger = 'job' | 'cli' | 'admin';

/** One row per bill date: the latest run of that date's reconciliation. */
@Entity('bill_runs')
export class BillRunEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  /** The Beijing date, yyyyMMdd. */
  @Column({ name: 'bill_date', type: 'varchar', length: 8, unique: true })
  billDate!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: BillRunStatus;

  /** How many times the date was claimed; findings carry the attempt that last saw them. */
  @Column({ type: 'integer', default: 1 })
  attempt!: number;

  @Column({ name: 'run_by', type: 'varchar', length: 16 })
  runBy!: BillRunTrigger;

  @Column({ name: 'lease_owner', type: 'varchar', length: 96, nullable: true })
  leaseOwner!: string | null;

  @EpochMsColumn({ name: 'lease_until', nullable: true })
  leaseUntil!: number | null;

  @Column({ type: 'varchar', length: 8, nullable: true })
  bill!: BillAnswerKind | null;

  @Column({ name: 'wechat_payments', type: 'integer', default: 0 })
  wechatPayments!: number;

  @FenColumn({ name: 'wechat_payments_fen', default: 0 })
  wechatPaymentsFen!: number;

  @Column({ name: 'wechat_refunds', type: 'integer', default: 0 })
  wechatRefunds!: number;

  @FenColumn({ name: 'wechat_refunds_fen', default: 0 })
  wechatRefundsFen!: number;

  @Column({ name: 'our_payments', type: 'integer', default: 0 })
  ourPayments!: number;

  @FenColumn({ name: 'our_payments_fen', default: 0 })
  ourPaymentsFen!: number;

  @Column({ name: 'our_refunds', type: 'integer', default: 0 })
  ourRefunds!: number;

  @FenColumn({ name: 'our_refunds_fen', default: 0 })
  ourRefundsFen!: number;

  @Column({ name: 'discrepancy_count', type: 'integer', default: 0 })
  discrepancyCount!: number;

  @Column({ name: 'repaired_count', type: 'integer', default: 0 })
  repairedCount!: number;

  @Column({ name: 'last_error', type: 'varchar', length: 255, nullable: true })
  lastError!: string | null;

  @EpochMsColumn({ name: 'started_at' })
  startedAt!: number;

  @EpochMsColumn({ name: 'finished_at', nullable: true })
  finishedAt!: number | null;

  @Column({ name: 'duration_ms', type: 'integer', nullable: true })
  durationMs!: number | null;
}
