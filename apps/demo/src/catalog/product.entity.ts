import { Column, Entity, PrimaryColumn } from 'typeorm';
import { FenColumn } from '../common/columns';

/** The longest product name the catalogue holds. */
export const PRODUCT_NAME_MAX = 64;

@Entity('products')
export class ProductEntity {
  @PrimaryColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'varchar', length: PRODUCT_NAME_MAX })
  name!: string;

  /** Integer fen. */
  @FenColumn({ name: 'price_fen' })
  priceFen!: number;

  @Column({ type: 'boolean' })
  active!: boolean;
}
