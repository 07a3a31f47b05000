/** A value a statement parameter can take on both databases (better-sqlite3 binds no booleans). */
export type SqlValue = string | number | null;

let statements = 0;

/**
 * One SQL statement, written with PostgreSQL's `$1, $2...` placeholders and bound parameters,
 * never with values in its text. On PostgreSQL it runs as a named prepared statement, parsed and
 * planned once per connection; on SQLite better-sqlite3 prepares it once, with the placeholders
 * turned into `?` (which better-sqlite3 binds by position).
 */
export class Statement {
  readonly name = `demo_${++statements}`;
  readonly sqliteText: string;
  /** For each `?` of the SQLite text, the index of the parameter it takes. */
  readonly sqliteOrder: readonly number[];

  constructor(readonly text: string) {
    const order: number[] = [];
    this.sqliteText = text.replace(/\$(\d+)/g, (_, n: string) => {
      order.push(Number(n) - 1);
      return '?';
    });
    this.sqliteOrder = order;
  }

  /** The parameters in the order the SQLite text takes them. */
  sqliteParams(params: readonly SqlValue[]): SqlValue[] {
    return this.sqliteOrder.map((index) => params[index]);
  }
}

export interface SqlResult<R> {
  rows: R[];
  /** Rows the statement inserted, updated or deleted (or returned, for a write with RETURNING). */
  affected: number;
}

export type Row = Record<string, unknown>;

/** Runs statements, inside a transaction or not. */
export interface SqlRunner {
  run<R = Row>(statement: Statement, params: readonly SqlValue[]): Promise<SqlResult<R>>;
}

/** A conditional update: the row `id` of `table` gets `set` only while its status is `status`. */
export interface ConditionalUpdate {
  table: string;
  id: number;
  status: string;
  set: Readonly<Record<string, SqlValue>>;
}

export interface RowInsert {
  table: string;
  values: Readonly<Record<string, SqlValue>>;
  /** Skip the row when a unique index already holds it (the same evidence seen again). */
  ignoreDuplicate?: boolean;
}

/** Builds each distinct text once, so a statement shape is prepared once per connection. */
export class StatementCache {
  private readonly statements = new Map<string, Statement>();

  get(text: string): Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = new Statement(text);
      this.statements.set(text, statement);
    }
    return statement;
  }
}

/** Numbered placeholders for values, in order. */
export class Params {
  readonly values: SqlValue[] = [];

  add(value: SqlValue): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export function updateSql(update: ConditionalUpdate, params: Params): string {
  const set = Object.entries(update.set)
    .map(([column, value]) => `${column} = ${params.add(value)}`)
    .join(', ');
  return `UPDATE ${update.table} SET ${set} WHERE id = ${params.add(update.id)} AND status = ${params.add(update.status)}`;
}

export function insertColumns(insert: RowInsert): string {
  return `INSERT INTO ${insert.table} (${Object.keys(insert.values).join(', ')})`;
}

export function insertValues(insert: RowInsert, params: Params): string[] {
  return Object.values(insert.values).map((value) => params.add(value));
}
