import { Injectable } from '@nestjs/common';
import type BetterSqlite3 from 'better-sqlite3';
import type { Pool, PoolClient } from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import type { BetterSqlite3Driver } from 'typeorm/driver/better-sqlite3/BetterSqlite3Driver';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import {
  insertReturningIdSql,
  Params,
  postgresUnitSql,
  sqliteInsertSql,
  sqliteUpdateSql,
  StatementCache,
  type ConditionalUpdate,
  type Row,
  type RowInsert,
  type SqlResult,
  type SqlRunner,
  type SqlValue,
  type Statement,
} from './statement';

/**
 * Runs the app's database work: TypeORM units of work (`run`) and prepared statements on the hot
 * paths (`read`, `write`, `atomic`, `writeIf`), on the connections TypeORM opened.
 *
 * On PostgreSQL each call gets a pooled connection. TypeORM drives better-sqlite3 through a single
 * shared connection, where two overlapping transactions would silently nest into one another, and
 * SQLite allows one writer at a time anyway: there every write is queued and runs after the
 * previous one. Work inside `run` or `atomic` must use the manager or runner it is given: calling
 * back into this service from inside would wait for itself on SQLite.
 */
@Injectable()
export class Transactions {
  private queue: Promise<unknown> = Promise.resolve();
  readonly isPostgres: boolean;
  private readonly shapes = new StatementCache();
  private sqliteStatements = new Map<Statement, BetterSqlite3.Statement>();
  private sqliteStatementsOf?: BetterSqlite3.Database;

  constructor(private readonly dataSource: DataSource) {
    this.isPostgres = dataSource.options.type === 'postgres';
  }

  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.isPostgres) return this.dataSource.transaction(work);
    return this.enqueue(() => this.dataSource.transaction(work));
  }

  /** One statement that only reads, run at once. */
  async read<R = Row>(statement: Statement, params: readonly SqlValue[]): Promise<R[]> {
    const result = this.isPostgres
      ? await this.postgres(this.pool, statement, params)
      : this.sqlite(statement, params);
    return result.rows as R[];
  }

  /** One statement that writes: its own transaction. */
  write<R = Row>(statement: Statement, params: readonly SqlValue[]): Promise<SqlResult<R>> {
    if (this.isPostgres) return this.postgres<R>(this.pool, statement, params);
    return this.enqueue(() => this.sqlite<R>(statement, params));
  }

  /** Statements in one transaction, committed when `work` resolves, rolled back when it throws. */
  atomic<T>(work: (sql: SqlRunner) => Promise<T>): Promise<T> {
    return this.isPostgres
      ? this.postgresAtomic(work)
      : this.enqueue(() => this.sqliteAtomic(work));
  }

  /**
   * A state change and the rows that go with it, as one unit: `update` moves the row only while
   * it still meets `update.where` (the status it was read with, say), and `inserts` are written
   * only if it did; they can take columns of the changed row (`changedColumn`). Resolves false,
   * having written nothing, when no row met the condition; true when one moved (or when there is
   * no update, and the inserts were written alone). On PostgreSQL the unit is one statement (a
   * data-modifying WITH): one round trip, no BEGIN or COMMIT.
   */
  async writeIf(
    update: ConditionalUpdate | undefined,
    inserts: readonly RowInsert[],
  ): Promise<boolean> {
    if (update === undefined && inserts.length === 0) return true;
    if (this.isPostgres) {
      const params = new Params();
      const text = postgresUnitSql(update, inserts, params);
      const result = await this.postgres(this.pool, this.shapes.get(text), params.values);
      return update === undefined || result.affected === 1;
    }
    if (update !== undefined && inserts.length === 0) {
      const params = new Params();
      const text = sqliteUpdateSql(update, inserts, params);
      return (await this.write(this.shapes.get(text), params.values)).affected === 1;
    }
    return this.atomic(async (sql) => {
      let changed: Row | undefined;
      if (update !== undefined) {
        const params = new Params();
        const text = sqliteUpdateSql(update, inserts, params);
        const result = await sql.run(this.shapes.get(text), params.values);
        if (result.affected !== 1) return false;
        changed = result.rows[0];
      }
      for (const insert of inserts) {
        const params = new Params();
        await sql.run(this.shapes.get(sqliteInsertSql(insert, changed, params)), params.values);
      }
      return true;
    });
  }

  /**
   * A row and the rows that belong to it (an order and its items), in one unit; resolves the new
   * row's id. Each child row gets that id in `children.parentColumn`.
   */
  async insertTree(
    parent: RowInsert,
    children: {
      table: string;
      parentColumn: string;
      rows: ReadonlyArray<Record<string, SqlValue>>;
    },
  ): Promise<number> {
    const params = new Params();
    if (this.isPostgres) {
      // Each child reads the one before it, which makes PostgreSQL insert them in order (the
      // parts of a WITH otherwise run in no set order), so their ids follow the lines.
      const along = children.rows.map((row, i) => {
        const columns = [children.parentColumn, ...Object.keys(row)].join(', ');
        const values = Object.values(row).map((value) => params.add(value));
        const previous = i === 0 ? 'parent' : `c${i - 1}`;
        return (
          `, c${i} AS (INSERT INTO ${children.table} (${columns}) ` +
          `SELECT id, ${values.join(', ')} FROM ${previous} RETURNING ${children.parentColumn} AS id)`
        );
      });
      const head = `WITH parent AS (${insertReturningIdSql(parent, params)})`;
      const text = `${head}${along.join('')} SELECT id FROM parent`;
      const { rows } = await this.postgres<{ id: unknown }>(
        this.pool,
        this.shapes.get(text),
        params.values,
      );
      return Number(rows[0].id);
    }
    return this.atomic(async (sql) => {
      const head = this.shapes.get(insertReturningIdSql(parent, params));
      const { rows } = await sql.run<{ id: unknown }>(head, params.values);
      const id = Number(rows[0].id);
      for (const row of children.rows) {
        const child = { table: children.table, values: { [children.parentColumn]: id, ...row } };
        const childParams = new Params();
        await sql.run(
          this.shapes.get(sqliteInsertSql(child, undefined, childParams)),
          childParams.values,
        );
      }
      return id;
    });
  }

  private get pool(): Pool {
    return (this.dataSource.driver as PostgresDriver).master as Pool;
  }

  private async postgres<R>(
    client: Pool | PoolClient,
    statement: Statement,
    params: readonly SqlValue[],
  ): Promise<SqlResult<R>> {
    const result = await client.query({
      name: statement.name,
      text: statement.text,
      values: params as SqlValue[],
    });
    return { rows: result.rows as R[], affected: result.rowCount ?? 0 };
  }

  private async postgresAtomic<T>(work: (sql: SqlRunner) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await work({
        run: (statement, params) => this.postgres(client, statement, params),
      });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // A connection that cannot even roll back is gone: the pool must not hand it out again.
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  private get sqliteDatabase(): BetterSqlite3.Database {
    return (this.dataSource.driver as BetterSqlite3Driver)
      .databaseConnection as BetterSqlite3.Database;
  }

  private sqlite<R>(statement: Statement, params: readonly SqlValue[]): SqlResult<R> {
    const database = this.sqliteDatabase;
    if (this.sqliteStatementsOf !== database) {
      this.sqliteStatements = new Map();
      this.sqliteStatementsOf = database;
    }
    let prepared = this.sqliteStatements.get(statement);
    if (!prepared) {
      prepared = database.prepare(statement.sqliteText);
      this.sqliteStatements.set(statement, prepared);
    }
    const values = statement.sqliteParams(params);
    if (prepared.reader) {
      const rows = prepared.all(...values) as R[];
      return { rows, affected: rows.length };
    }
    return { rows: [], affected: prepared.run(...values).changes };
  }

  private async sqliteAtomic<T>(work: (sql: SqlRunner) => Promise<T>): Promise<T> {
    const database = this.sqliteDatabase;
    // IMMEDIATE takes the write lock now (waiting out busy_timeout), not halfway through.
    database.exec('BEGIN IMMEDIATE');
    try {
      const result = await work({
        run: (statement, params) => Promise.resolve(this.sqlite(statement, params)),
      });
      database.exec('COMMIT');
      return result;
    } catch (error) {
      if (database.inTransaction) database.exec('ROLLBACK');
      throw error;
    }
  }

  private enqueue<T>(work: () => T | Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    // The queue must keep going whatever this unit's outcome.
    this.queue = result.catch(() => undefined);
    return result;
  }
}
