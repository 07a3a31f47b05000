import { existsSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { Client } from 'pg';

/** An order row as the audit reads it (times in epoch ms). */
export interface OrderRow {
  orderNo: string;
  status: 'UNPAID' | 'PAID' | 'CLOSED';
  amountFen: number;
  transactionId: string | null;
  prepayId: string | null;
  paidAt: number | null;
  paidVia: string | null;
  createdAt: number;
  expiresAt: number;
  closedAt: number | null;
  cancelRequestedAt: number | null;
  nextCheckAt: number | null;
  checkAttempts: number;
  lastError: string | null;
}

export interface AuditSnapshot {
  orders: OrderRow[];
  /** Fulfilment rows per order number. */
  fulfilments: Map<string, number>;
  /** Stored notifications per outcome. */
  notificationOutcomes: Record<string, number>;
  /** Stored notifications per order number. */
  notificationsPerOrder: Map<string, number>;
  reviews: Record<string, number>;
}

/** The run's own database: created before the instances start, dropped after the audit. */
export interface SoakDatabase {
  readonly kind: 'postgres' | 'sqlite';
  /** DATABASE_URL for the instances. */
  readonly appUrl: string;
  readonly name: string;
  create(): Promise<void>;
  /** Terminates every connection of the instances at once; the number terminated. */
  terminateAppConnections(): Promise<number>;
  /** Numbers of the orders recorded paid: the cheap query the settle wait polls. */
  paidOrderNos(): Promise<Set<string>>;
  snapshot(): Promise<AuditSnapshot>;
  drop(): Promise<void>;
}

const ORDER_COLUMNS = `order_no, status, amount_fen, transaction_id, prepay_id, paid_at, paid_via,
  created_at, expires_at, closed_at, cancel_requested_at, next_check_at, check_attempts, last_error`;

type RawOrder = Record<string, string | number | null>;

const toMs = (value: string | number | null): number | null =>
  value === null ? null : Number(value);

function orderFrom(row: RawOrder): OrderRow {
  return {
    orderNo: String(row.order_no),
    status: row.status as OrderRow['status'],
    amountFen: Number(row.amount_fen),
    transactionId: row.transaction_id === null ? null : String(row.transaction_id),
    prepayId: row.prepay_id === null ? null : String(row.prepay_id),
    paidAt: toMs(row.paid_at),
    paidVia: row.paid_via === null ? null : String(row.paid_via),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    closedAt: toMs(row.closed_at),
    cancelRequestedAt: toMs(row.cancel_requested_at),
    nextCheckAt: toMs(row.next_check_at),
    checkAttempts: Number(row.check_attempts),
    lastError: row.last_error === null ? null : String(row.last_error),
  };
}

function counts(rows: { key: unknown; n: unknown }[]): Map<string, number> {
  return new Map(rows.map((r) => [String(r.key), Number(r.n)]));
}

const QUERIES = {
  orders: `SELECT ${ORDER_COLUMNS} FROM orders`,
  paid: `SELECT order_no FROM orders WHERE status = 'PAID'`,
  fulfilments: `SELECT o.order_no AS key, COUNT(f.id) AS n
    FROM fulfilments f JOIN orders o ON o.id = f.order_id GROUP BY o.order_no`,
  outcomes: `SELECT outcome AS key, COUNT(*) AS n FROM payment_notifications GROUP BY outcome`,
  perOrder: `SELECT out_trade_no AS key, COUNT(*) AS n FROM payment_notifications
    GROUP BY out_trade_no`,
  reviews: `SELECT kind AS key, COUNT(*) AS n FROM payment_reviews GROUP BY kind`,
};

export class PostgresSoakDatabase implements SoakDatabase {
  readonly kind = 'postgres';
  readonly name: string;
  readonly appUrl: string;
  private admin?: Client;

  constructor(private readonly serverUrl: string) {
    const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    this.name = `soak_${stamp}_${process.pid}`;
    const url = new URL(serverUrl);
    url.pathname = `/${this.name}`;
    this.appUrl = url.toString();
  }

  /**
   * The soak's own connection sits on the server's admin database, so terminating every backend
   * of the run's database hits the instances and nothing else.
   */
  private async adminClient(): Promise<Client> {
    if (!this.admin) {
      const client = new Client({ connectionString: this.serverUrl });
      client.on('error', () => undefined);
      await client.connect();
      this.admin = client;
    }
    return this.admin;
  }

  async create(): Promise<void> {
    const admin = await this.adminClient();
    await admin.query(`CREATE DATABASE "${this.name}"`);
  }

  async terminateAppConnections(): Promise<number> {
    const admin = await this.adminClient();
    const result = await admin.query(
      `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
        WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [this.name],
    );
    return result.rows.filter((r: { done: boolean }) => r.done).length;
  }

  private async withDatabase<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ connectionString: this.appUrl });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  paidOrderNos(): Promise<Set<string>> {
    return this.withDatabase(async (c) => {
      const { rows } = await c.query<{ order_no: string }>(QUERIES.paid);
      return new Set(rows.map((r) => r.order_no));
    });
  }

  snapshot(): Promise<AuditSnapshot> {
    return this.withDatabase(async (c) => {
      const orders = await c.query(QUERIES.orders);
      const fulfilments = await c.query(QUERIES.fulfilments);
      const outcomes = await c.query(QUERIES.outcomes);
      const perOrder = await c.query(QUERIES.perOrder);
      const reviews = await c.query(QUERIES.reviews);
      return {
        orders: (orders.rows as RawOrder[]).map(orderFrom),
        fulfilments: counts(fulfilments.rows),
        notificationOutcomes: Object.fromEntries(counts(outcomes.rows)),
        notificationsPerOrder: counts(perOrder.rows),
        reviews: Object.fromEntries(counts(reviews.rows)),
      };
    });
  }

  async drop(): Promise<void> {
    const admin = await this.adminClient();
    await admin.query(`DROP DATABASE IF EXISTS "${this.name}" WITH (FORCE)`);
    await admin.end();
    this.admin = undefined;
  }
}

export class SqliteSoakDatabase implements SoakDatabase {
  readonly kind = 'sqlite';
  readonly name: string;
  readonly appUrl: string;

  constructor(private readonly file: string) {
    this.name = file;
    this.appUrl = `sqlite:${file}`;
  }

  async create(): Promise<void> {
    // The demo creates the file and its schema through its migrations.
  }

  async terminateAppConnections(): Promise<number> {
    throw new Error('SQLite has no server connections to terminate');
  }

  private read<T>(work: (db: Database.Database) => T): T {
    const db = new Database(this.file, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      return work(db);
    } finally {
      db.close();
    }
  }

  async paidOrderNos(): Promise<Set<string>> {
    return this.read(
      (db) =>
        new Set((db.prepare(QUERIES.paid).all() as { order_no: string }[]).map((r) => r.order_no)),
    );
  }

  async snapshot(): Promise<AuditSnapshot> {
    return this.read((db) => {
      const all = (sql: string) => db.prepare(sql).all() as { key: unknown; n: unknown }[];
      return {
        orders: (db.prepare(QUERIES.orders).all() as RawOrder[]).map(orderFrom),
        fulfilments: counts(all(QUERIES.fulfilments)),
        notificationOutcomes: Object.fromEntries(counts(all(QUERIES.outcomes))),
        notificationsPerOrder: counts(all(QUERIES.perOrder)),
        reviews: Object.fromEntries(counts(all(QUERIES.reviews))),
      };
    });
  }

  async drop(): Promise<void> {
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(this.file + suffix)) rmSync(this.file + suffix);
    }
  }
}
