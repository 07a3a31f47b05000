import { Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DEMO_CONFIG, type DemoConfig } from '../config/demo.config';
import { buildDataSourceOptions } from './data-source-options';

// Any constant works: it only has to be the same for every instance of the demo.
const MIGRATION_LOCK_KEY = 7_310_001;

/**
 * Applies pending migrations at start. On PostgreSQL an advisory lock serialises instances that
 * start together, so two of them never race to create the same table.
 */
@Injectable()
export class MigrationRunner implements OnModuleInit {
  private readonly logger = new Logger(MigrationRunner.name);
  constructor(private readonly dataSource: DataSource) {}

  async onModuleInit(): Promise<void> {
    await this.migrate();
  }

  async migrate(): Promise<void> {
    const postgres = this.dataSource.options.type === 'postgres';
    const lock = postgres ? this.dataSource.createQueryRunner() : undefined;
    try {
      if (lock) await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      const applied = await this.dataSource.runMigrations({ transaction: 'all' });
      if (applied.length > 0) {
        this.logger.log(`applied migrations: ${applied.map((m) => m.name).join(', ')}`);
      }
    } finally {
      if (lock) {
        await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
        await lock.release();
      }
    }
  }
}

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [DEMO_CONFIG],
      useFactory: (config: DemoConfig) => buildDataSourceOptions(config.databaseUrl),
    }),
  ],
  providers: [MigrationRunner],
  exports: [MigrationRunner],
})
export class DatabaseModule {}
