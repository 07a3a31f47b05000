import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { EpochMsColumn, FenColumn } from '../common/columns';

/** A successful refund's effect on the order's fulfilment: exactly one row per refund. */
@Entity('fulfilment_reversals')
export class FulfilmentReversalEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  /** refunds.id; unique, so the reversal happens once in any interleaving. */
  @Column({ name: 'refund_id', type: 'integer', unique: true })
  refundId!: number;

  @Column({ name: 'order_id', type: 'integer' })
  orderId!: number;

  @Column({ name: 'order_no', type: 'varchar', length: 32 })
  orderNo!: string;

  @FenColumn({ name: 'amount_fen' })
  amountFen!: number;

  @EpochMsColumn({ name: 'created_at' })
  createdAt!: number;
}
