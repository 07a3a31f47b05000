import { runInNewContext } from 'node:vm';
import { QueryFailedError, QueryRunnerProviderAlreadyReleasedError } from 'typeorm';
import { databaseUnavailableReason } from './database-errors';

function pgError(code: string, message = 'server said no'): Error {
  return Object.assign(new Error(message), { code });
}

describe('databaseUnavailableReason', () => {
  it('recognises a connection PostgreSQL terminated under a query', () => {
    const error = new QueryFailedError('SELECT 1', [], pgError('57P01'));
    expect(databaseUnavailableReason(error)).toBe('57P01');
  });

  it('recognises a pooled connection that died while idle, a refused connect and a released runner', () => {
    const dead = new QueryFailedError(
      'SELECT 1',
      [],
      new Error('Connection terminated unexpectedly'),
    );
    expect(databaseUnavailableReason(dead)).toBe('Connection terminated unexpectedly');
    expect(databaseUnavailableReason(pgError('ECONNREFUSED'))).toBe('ECONNREFUSED');
    expect(databaseUnavailableReason(new QueryRunnerProviderAlreadyReleasedError())).toBe(
      'connection lost',
    );
  });

  it('recognises a driver error made in another realm, as a native driver may throw it', () => {
    const busy: unknown = runInNewContext(
      "Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })",
    );
    expect(busy instanceof Object).toBe(false);
    expect(databaseUnavailableReason(busy)).toBe('SQLITE_BUSY');
  });

  it('recognises a busy SQLite database and one that was closed', () => {
    const busy = new QueryFailedError('INSERT', [], pgError('SQLITE_BUSY', 'database is locked'));
    expect(databaseUnavailableReason(busy)).toBe('SQLITE_BUSY');
    expect(databaseUnavailableReason(new TypeError('The database connection is not open'))).toBe(
      'The database connection is not open',
    );
  });

  it('leaves errors a retry cannot cure to the default handler', () => {
    expect(databaseUnavailableReason(new QueryFailedError('INSERT', [], pgError('23505')))).toBe(
      undefined,
    );
    expect(databaseUnavailableReason(new QueryFailedError('SELECT', [], pgError('42P01')))).toBe(
      undefined,
    );
    expect(databaseUnavailableReason(new TypeError('x is undefined'))).toBe(undefined);
    expect(databaseUnavailableReason('a string')).toBe(undefined);
  });
});
