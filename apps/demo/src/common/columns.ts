import { Column, type ColumnOptions } from 'typeorm';

/**
 * Instants are stored as epoch milliseconds in a BIGINT: the same type, comparisons and index
 * behaviour on SQLite and PostgreSQL, with no time-zone conversion anywhere. PostgreSQL returns
 * BIGINT as a string, hence the transformer.
 */
const epochMs = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};

export function EpochMsColumn(
  options: Pick<ColumnOptions, 'name' | 'nullable'>,
): PropertyDecorator {
  return Column({ type: 'bigint', transformer: epochMs, ...options });
}

/**
 * Amounts are integer fen in a BIGINT on both databases, so every amount up to
 * Number.MAX_SAFE_INTEGER fen fits, the largest a JavaScript number holds exactly (and more than
 * any WeChat notification can carry). Values are read back as numbers; writing anything but a safe
 * integer is a bug and throws before it reaches the database.
 */
const fen = {
  to: (value: unknown) => {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new TypeError(`a fen amount must be a safe integer, got ${value}`);
    }
    return value;
  },
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};

export function FenColumn(
  options: Pick<ColumnOptions, 'name' | 'nullable' | 'default'> = {},
): PropertyDecorator {
  return Column({ type: 'bigint', transformer: fen, ...options });
}
