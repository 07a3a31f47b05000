import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { EpochMsColumn } from '../common/columns';

/** A login session. Only a hash of the token's secret part is stored. */
@Entity('sessions')
export class SessionEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Index('IDX_sessions_user')
  @Column({ name: 'user_id', type: 'integer' })
  userId!: number;

  @EpochMsColumn({ name: 'created_at' })
  createdAt!: number;

  @EpochMsColumn({ name: 'expires_at' })
  expiresAt!: number;
}
