import {
  CannotExecuteNotConnectedError,
  ConnectionIsNotSetError,
  QueryRunnerAlreadyReleasedError,
  QueryRunnerProviderAlreadyReleasedError,
} from 'typeorm';

/**
 * PostgreSQL SQLSTATEs after which the same request, sent again, can succeed: connection
 * exceptions (class 08), the server shutting down or starting (57P01-57P03), too many connections
 * (53300), statement timeout (57014), serialisation failures and deadlocks (40001, 40P01).
 */
const PG_TRANSIENT = /^(08...|57P0[123]|53300|57014|40001|40P01)$/;
/** SQLite: another writer holds the database, or the file is briefly unusable. */
const SQLITE_TRANSIENT = /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|PROTOCOL)/;
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);
/** Messages pg and better-sqlite3 use for a connection that is gone, which carry no code. */
const GONE =
  /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|The database connection is not open|Driver not Connected)/;

/** A database failure the app has already judged transient (the reason says why). */
export class DatabaseUnavailableError extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`database unavailable: ${reason}`, options);
    this.name = 'DatabaseUnavailableError';
  }
}

/**
 * A short reason when the error means the database cannot be reached or cannot serve the request
 * right now (a retry may succeed), undefined for every other error.
 */
export function databaseUnavailableReason(error: unknown): string | undefined {
  if (error instanceof DatabaseUnavailableError) return error.reason;
  if (
    error instanceof QueryRunnerProviderAlreadyReleasedError ||
    error instanceof QueryRunnerAlreadyReleasedError ||
    error instanceof CannotExecuteNotConnectedError ||
    error instanceof ConnectionIsNotSetError
  ) {
    // A connection lost inside a transaction releases its query runner under the transaction.
    return 'connection lost';
  }
  const seen = new Set<unknown>();
  let current: unknown = error;
  // Not `instanceof Object`: a driver's error can come from another realm (better-sqlite3 makes
  // its errors with the class of the context that first loaded it), and is an object all the same.
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === 'string') {
      if (PG_TRANSIENT.test(code) || SQLITE_TRANSIENT.test(code) || NETWORK.has(code)) return code;
    }
    if (typeof message === 'string' && GONE.test(message)) return message.slice(0, 80);
    current =
      (current as { driverError?: unknown }).driverError ?? (current as { cause?: unknown }).cause;
  }
  return undefined;
}
