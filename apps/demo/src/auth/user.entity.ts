import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { EpochMsColumn } from '../common/columns';

@Entity('users')
export class UserEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 128, unique: true })
  openid!: string;

  @EpochMsColumn({ name: 'created_at' })
  createdAt!: number;
}
