import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { buildPaymentNotification } from 'nestjs-wechat-pay-v2/testing';
import { TEST_MERCHANT } from 'wechat-pay-v2-simulator';

const OPENID = 'oBenchOpenid000000000000000';
const AMOUNT_FEN = 6800;
const CHUNK = 500;

/** A database the benchmark creates for one line and drops afterwards. */
export interface BenchDatabase {
  readonly url: string;
  query(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  /** PostgreSQL: the server processes serving connections to this database, this one's excepted. */
  backends?(): Promise<number[]>;
  drop(): Promise<void>;
}

export async function createSqliteDatabase(file: string): Promise<BenchDatabase> {
  let db: Database.Database | undefined;
  const open = () => (db ??= new Database(file, { timeout: 5000 }));
  return {
    url: `sqlite:${file}`,
    query: (sql, params = []) => {
      const statement = open().prepare(sql.replace(/\$\d+/g, '?'));
      return Promise.resolve(
        statement.reader
          ? (statement.all(...params) as Array<Record<string, unknown>>)
          : (statement.run(...params), []),
      );
    },
    drop: async () => {
      db?.close();
      const { rm } = await import('node:fs/promises');
      await Promise.all(['', '-wal', '-shm'].map((end) => rm(`${file}${end}`, { force: true })));
    },
  };
}

/** A fresh database on the PostgreSQL server of `serverUrl`, or undefined when none answers. */
export async function createPostgresDatabase(
  serverUrl: string,
): Promise<BenchDatabase | undefined> {
  const name = `bench_http_${randomBytes(5).toString('hex')}`;
  const admin = new URL(serverUrl);
  admin.pathname = '/postgres';
  const withAdmin = async (sql: string) => {
    const client = new Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  try {
    await withAdmin(`CREATE DATABASE "${name}"`);
  } catch {
    return undefined;
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let client: Client | undefined;
  const query = async (sql: string, params: unknown[] = []) => {
    if (!client) {
      client = new Client({ connectionString: url.toString() });
      await client.connect();
    }
    return (await client.query(sql, params)).rows as Array<Record<string, unknown>>;
  };
  return {
    url: url.toString(),
    query,
    backends: async () =>
      (
        await query(
          'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        )
      ).map((row) => Number(row.pid)),
    drop: async () => {
      await client?.end();
      await withAdmin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/**
 * Writes `count` unpaid orders straight into the demo's tables and returns one signed payment
 * notification for each, so every notification sent settles a different order, as in production.
 */
export async function unpaidOrdersWithNotifications(
  db: BenchDatabase,
  count: number,
  notifyUrl: string,
): Promise<string[]> {
  const now = Date.now();
  await db.query('INSERT INTO users (openid, created_at) VALUES ($1, $2)', [OPENID, now]);
  const [{ id: userId }] = await db.query('SELECT id FROM users WHERE openid = $1', [OPENID]);
  const run = randomBytes(3).toString('hex').toUpperCase();
  const orderNos = Array.from(
    { length: count },
    (_, i) => `BENCH${run}${String(i).padStart(10, '0')}`,
  );
  const columns = [
    'order_no',
    'user_id',
    'openid',
    'app_id',
    'mch_id',
    'amount_fen',
    'description',
    'status',
    'sign_type',
    'notify_url',
    'time_expire',
    'expires_at',
    'next_check_at',
    'check_attempts',
    'created_at',
    'updated_at',
  ];
  for (let start = 0; start < count; start += CHUNK) {
    const chunk = orderNos.slice(start, start + CHUNK);
    const params: unknown[] = [];
    const rows = chunk.map((orderNo) => {
      const values = [
        orderNo,
        userId,
        OPENID,
        TEST_MERCHANT.appId,
        TEST_MERCHANT.mchId,
        AMOUNT_FEN,
        'Bench order',
        'UNPAID',
        'HMAC-SHA256',
        notifyUrl,
        '20991231235959',
        now + 30 * 60_000,
        now + 3_600_000,
        0,
        now,
        now,
      ];
      const placeholders = values.map((value) => {
        params.push(value);
        return `$${params.length}`;
      });
      return `(${placeholders.join(', ')})`;
    });
    await db.query(`INSERT INTO orders (${columns.join(', ')}) VALUES ${rows.join(', ')}`, params);
  }
  return orderNos.map(
    (outTradeNo, i) =>
      buildPaymentNotification({
        apiKey: TEST_MERCHANT.apiKey,
        appId: TEST_MERCHANT.appId,
        mchId: TEST_MERCHANT.mchId,
        outTradeNo,
        totalFee: AMOUNT_FEN,
        openid: OPENID,
        transactionId: `4200000000${String(i).padStart(18, '0')}`,
        signType: 'HMAC-SHA256',
      }).xml,
  );
}

/** One signed notification for an order nobody has: what the library alone accepts and verifies. */
export function libraryNotification(): string {
  return buildPaymentNotification({
    apiKey: TEST_MERCHANT.apiKey,
    appId: TEST_MERCHANT.appId,
    mchId: TEST_MERCHANT.mchId,
    totalFee: AMOUNT_FEN,
    openid: OPENID,
    signType: 'HMAC-SHA256',
  }).xml;
}
