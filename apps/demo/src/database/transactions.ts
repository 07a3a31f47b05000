import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

/**
 * Runs units of work in a database transaction.
 *
 * On PostgreSQL each call gets its own pooled connection and transaction. TypeORM drives
 * better-sqlite3 through a single shared connection, where two overlapping transactions would
 * silently nest into one another; SQLite allows one writer at a time anyway, so there the calls are
 * queued and run one after another.
 */
@Injectable()
export class Transactions {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly serialise: boolean;

  constructor(private readonly dataSource: DataSource) {
    this.serialise = dataSource.options.type !== 'postgres';
  }

  get isPostgres(): boolean {
    return !this.serialise;
  }

  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.serialise) return this.dataSource.transaction(work);
    const result = this.queue.then(() => this.dataSource.transaction(work));
    // The queue must keep going whatever this unit's outcome.
    this.queue = result.catch(() => undefined);
    return result;
  }
}
