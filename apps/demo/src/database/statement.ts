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

/** A column of the row an update changed, as a value of a row written with it. */
export class ChangedColumn {
  constructor(readonly column: string) {}
}

export const changedColumn = (column: string) => new ChangedColumn(column);

export type InsertValue = SqlValue | ChangedColumn;

/**
 * A conditional update of one row: `set` is written only while the row meets every equality of
 * `where` (its id or another unique key, and the status it was read with).
 */
export interface ConditionalUpdate {
  table: string;
  where: Readonly<Record<string, SqlValue>>;
  set: Readonly<Record<string, SqlValue>>;
}

export interface RowInsert {
  table: string;
  values: Readonly<Record<string, InsertValue>>;
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

function updateSql(update: ConditionalUpdate, params: Params): string {
  const set = Object.entries(update.set)
    .map(([column, value]) => `${column} = ${params.add(value)}`)
    .join(', ');
  const where = Object.entries(update.where)
    .map(([column, value]) => `${column} = ${params.add(value)}`)
    .join(' AND ');
  return `UPDATE ${update.table} SET ${set} WHERE ${where}`;
}

/** The columns of the changed row that the inserts take. */
export function changedColumns(inserts: readonly RowInsert[]): string[] {
  const columns = new Set<string>();
  for (const insert of inserts) {
    for (const value of Object.values(insert.values)) {
      if (value instanceof ChangedColumn) columns.add(value.column);
    }
  }
  return [...columns];
}

function columnList(insert: RowInsert): string {
  return `${insert.table} (${Object.keys(insert.values).join(', ')})`;
}

/**
 * PostgreSQL: the whole unit as one statement. With an update, each insert selects from the
 * updated row (a data-modifying WITH), so it happens only if the update did; the statement returns
 * one row when the update moved the row, none when it did not.
 */
export function postgresUnitSql(
  update: ConditionalUpdate | undefined,
  inserts: readonly RowInsert[],
  params: Params,
): string {
  const conflict = (insert: RowInsert) => (insert.ignoreDuplicate ? ' ON CONFLICT DO NOTHING' : '');
  if (update === undefined) {
    const parts = inserts.map((insert) => {
      const values = Object.values(insert.values).map((value) => {
        if (value instanceof ChangedColumn) throw new Error('a changed column needs an update');
        return params.add(value);
      });
      return `INSERT INTO ${columnList(insert)} VALUES (${values.join(', ')})${conflict(insert)}`;
    });
    const last = parts.pop() as string;
    if (parts.length === 0) return last;
    return `WITH ${parts.map((part, i) => `i${i} AS (${part})`).join(', ')} ${last}`;
  }
  const returning = ['1', ...changedColumns(inserts)].join(', ');
  const head = `WITH changed AS (${updateSql(update, params)} RETURNING ${returning})`;
  const along = inserts.map((insert, i) => {
    const values = Object.values(insert.values).map((value) =>
      value instanceof ChangedColumn ? `changed.${value.column}` : params.add(value),
    );
    return `, i${i} AS (INSERT INTO ${columnList(insert)} SELECT ${values.join(', ')} FROM changed${conflict(insert)})`;
  });
  return `${head}${along.join('')} SELECT 1 FROM changed`;
}

/** SQLite: the update, returning the columns of the changed row that the inserts take. */
export function sqliteUpdateSql(
  update: ConditionalUpdate,
  inserts: readonly RowInsert[],
  params: Params,
): string {
  const returning = changedColumns(inserts);
  const text = updateSql(update, params);
  return returning.length === 0 ? text : `${text} RETURNING ${returning.join(', ')}`;
}

/** SQLite: one insert, with the changed row's columns filled in from `changed`. */
export function sqliteInsertSql(
  insert: RowInsert,
  changed: Row | undefined,
  params: Params,
): string {
  const values = Object.values(insert.values).map((value) => {
    if (!(value instanceof ChangedColumn)) return params.add(value);
    if (!changed) throw new Error('a changed column needs an update');
    return params.add(changed[value.column] as SqlValue);
  });
  const verb = insert.ignoreDuplicate ? 'INSERT OR IGNORE INTO' : 'INSERT INTO';
  return `${verb} ${columnList(insert)} VALUES (${values.join(', ')})`;
}

/** An insert returning the new row's id, on both databases. */
export function insertReturningIdSql(insert: RowInsert, params: Params): string {
  return `${sqliteInsertSql(insert, undefined, params)} RETURNING id`;
}
