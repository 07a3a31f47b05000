import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { PRODUCT_NAME_MAX } from '../catalog/product.entity';
import { FenColumn } from '../common/columns';

@Entity('order_items')
export class OrderItemEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('IDX_order_items_order')
  @Column({ name: 'order_id', type: 'integer' })
  orderId!: number;

  @Column({ name: 'product_id', type: 'integer' })
  productId!: number;

  @Column({ type: 'varchar', length: PRODUCT_NAME_MAX })
  name!: string;

  @FenColumn({ name: 'unit_price_fen' })
  unitPriceFen!: number;

  @Column({ type: 'integer' })
  quantity!: number;

  @FenColumn({ name: 'line_total_fen' })
  lineTotalFen!: number;
}
