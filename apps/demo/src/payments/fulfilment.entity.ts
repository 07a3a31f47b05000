import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { EpochMsColumn } from '../common/columns';
import type { PaymentSource } from '../orders/order.entity';

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
