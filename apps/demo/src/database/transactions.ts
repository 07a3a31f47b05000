import { Injectable } from '@nestjs/common';
import type BetterSqlite3 from 'better-sqlite3';
import type { Pool, PoolClient } from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import type { BetterSqlite3Driver } from 'typeorm/driver/better-sqlite3/BetterSqlite3Driver';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import {
  insertColumns,
  insertValues,
  Params,
  StatementCache,
  updateSql,
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
   * its status is still the one read, and `inserts` are written only if it did. Resolves false,
   * having written nothing, when the row had moved on; true when it moved (or when there is no
   * update, and the inserts were written alone). On PostgreSQL the unit is a single statement (a
   * data-modifying WITH), so it costs one round trip and no BEGIN or COMMIT.
   */
  async writeIf(
    update: ConditionalUpdate | undefined,
    inserts: readonly RowInsert[],
  ): Promise<boolean> {
    if (update === undefined && inserts.length === 0) return true;
    if (this.isPostgres) {
      const params = new Params();
      const result = await this.postgres(
        this.pool,
        this.postgresUnit(update, inserts, params),
        params.values,
      );
      return update === undefined || result.affected === 1;
    }
    if (update !== undefined && inserts.length === 0) {
      const params = new Params();
      const text = updateSql(update, params);
      return (await this.write(this.shapes.get(text), params.values)).affected === 1;
    }
    return this.atomic(async (sql) => {
      if (update !== undefined) {
        const params = new Params();
        const moved = await sql.run(this.shapes.get(updateSql(update, params)), params.values);
        if (moved.affected !== 1) return false;
      }
      for (const insert of inserts) {
        const params = new Params();
        const values = insertValues(insert, params).join(', ');
        const verb = insert.ignoreDuplicate ? 'INSERT OR IGNORE' : 'INSERT';
        const text = `${insertColumns(insert).replace(/^INSERT/, verb)} VALUES (${values})`;
        await sql.run(this.shapes.get(text), params.values);
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
      const head = `${insertColumns(parent)} VALUES (${insertValues(parent, params).join(', ')}) RETURNING id`;
      // Each child reads the one before it, which makes PostgreSQL insert them in order (the
      // parts of a WITH otherwise run in no set order), so their ids follow the lines.
      const along = children.rows.map((row, i) => {
        const child = { table: children.table, values: row };
        const columns = [children.parentColumn, ...Object.keys(row)].join(', ');
        const previous = i === 0 ? 'parent' : `c${i - 1}`;
        return `c${i} AS (INSERT INTO ${child.table} (${columns}) SELECT id, ${insertValues(child, params).join(', ')} FROM ${previous} RETURNING ${children.parentColumn} AS id)`;
      });
      const text = `WITH parent AS (${head})${along.map((a) => `, ${a}`).join('')} SELECT id FROM parent`;
      const { rows } = await this.postgres<{ id: unknown }>(
        this.pool,
        this.shapes.get(text),
        params.values,
      );
      return Number(rows[0].id);
    }
    return this.atomic(async (sql) => {
      const head = `${insertColumns(parent)} VALUES (${insertValues(parent, params).join(', ')}) RETURNING id`;
      const { rows } = await sql.run<{ id: unknown }>(this.shapes.get(head), params.values);
      const id = Number(rows[0].id);
      for (const row of children.rows) {
        const child = { table: children.table, values: { [children.parentColumn]: id, ...row } };
        const childParams = new Params();
        const text = `${insertColumns(child)} VALUES (${insertValues(child, childParams).join(', ')})`;
        await sql.run(this.shapes.get(text), childParams.values);
      }
      return id;
    });
  }

  private postgresUnit(
    update: ConditionalUpdate | undefined,
    inserts: readonly RowInsert[],
    params: Params,
  ): Statement {
    const conflict = (insert: RowInsert) =>
      insert.ignoreDuplicate ? ' ON CONFLICT DO NOTHING' : '';
    if (update === undefined) {
      const parts = inserts.map(
        (insert) =>
          `${insertColumns(insert)} VALUES (${insertValues(insert, params).join(', ')})${conflict(insert)}`,
      );
      const last = parts.pop() as string;
      const text =
        parts.length === 0
          ? last
          : `WITH ${parts.map((p, i) => `i${i} AS (${p})`).join(', ')} ${last}`;
      return this.shapes.get(text);
    }
    const head = updateSql(update, params);
    if (inserts.length === 0) return this.shapes.get(head);
    const along = inserts.map(
      (insert, i) =>
        `i${i} AS (${insertColumns(insert)} SELECT ${insertValues(insert, params).join(', ')} FROM changed${conflict(insert)})`,
    );
    return this.shapes.get(
      `WITH changed AS (${head} RETURNING 1), ${along.join(', ')} SELECT 1 FROM changed`,
    );
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
