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
