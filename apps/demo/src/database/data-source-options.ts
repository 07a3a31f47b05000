import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { BillDiscrepancyEntity } from '../bills/bill-discrepancy.entity';
import { BillRunEntity } from '../bills/bill-run.entity';
import { SessionEntity } from '../auth/session.entity';
import { UserEntity } from '../auth/user.entity';
import { ProductEntity } from '../catalog/product.entity';
import { OrderItemEntity } from '../orders/order-item.entity';
import { OrderEntity } from '../orders/order.entity';
import { FulfilmentEntity } from '../payments/fulfilment.entity';
import { PaymentNotificationEntity } from '../payments/payment-notification.entity';
import { PaymentReviewEntity } from '../payments/payment-review.entity';
import { FulfilmentReversalEntity } from '../refunds/fulfilment-reversal.entity';
import { RefundEntity } from '../refunds/refund.entity';
import { InitialSchema1763880000000 } from './migrations/1763880000000-InitialSchema';
import { SeedCatalogue1763880000001 } from './migrations/1763880000001-SeedCatalogue';
import { FenColumnsBigint1763880000002 } from './migrations/1763880000002-FenColumnsBigint';
import { Refunds1763880000003 } from './migrations/1763880000003-Refunds';
import { BillReconciliation1763880000005 } from './migrations/1763880000005-BillReconciliation';
import { BillDayIndexes1763880000006 } from './migrations/1763880000006-BillDayIndexes';

/** Each feature folder holds its own entities; the schema itself comes from MIGRATIONS. */
export const ENTITIES = [
  UserEntity,
  SessionEntity,
  ProductEntity,
  OrderEntity,
  OrderItemEntity,
  FulfilmentEntity,
  PaymentNotificationEntity,
  PaymentReviewEntity,
  RefundEntity,
  FulfilmentReversalEntity,
  BillRunEntity,
  BillDiscrepancyEntity,
];

export const MIGRATIONS = [
  InitialSchema1763880000000,
  SeedCatalogue1763880000001,
  FenColumnsBigint1763880000002,
  Refunds1763880000003,
  BillReconciliation1763880000005,
  BillDayIndexes1763880000006,
];

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/**
 * TypeORM attaches its error listener to a pooled connection one tick after the pool hands it
 * over. A server that terminates the connection in that gap (a failover, pg_terminate_backend)
 * makes the connection emit 'error' with no listener, which would end the process. This listener,
 * attached as the connection is made, only keeps that event from being fatal: queries on the
 * connection still fail, and the pool still discards it.
 */
function guardConnectionErrors(client: { on(event: 'error', listener: () => void): unknown }) {
  client.on('error', () => undefined);
}

/**
 * The one builder of TypeORM options, shared by the app (TypeOrmModule) and the CLI (ormconfig.ts).
 * `sqlite:<file>` selects better-sqlite3 (the embedded default); `postgres://...` PostgreSQL, with
 * an optional `?schema=` to place the tables in a schema.
 */
export function buildDataSourceOptions(databaseUrl: string): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: false,
    synchronize: false,
    // Failed queries are not logged here: the API's error filter logs a database outage once a
    // second, Nest logs any other failure with its stack, and a query's parameters hold user data.
    logging: ['warn'] as 'warn'[],
  };
  if (isPostgresUrl(databaseUrl)) {
    const url = new URL(databaseUrl);
    const schema = url.searchParams.get('schema') ?? undefined;
    url.searchParams.delete('schema');
    return {
      ...common,
      type: 'postgres',
      url: url.toString(),
      schema,
      extra: {
        max: 10,
        onConnect: guardConnectionErrors,
        ...(schema ? { options: `-c search_path=${schema}` } : {}),
      },
    };
  }
  const file = databaseUrl.replace(/^sqlite:/, '');
  if (file !== ':memory:') mkdirSync(dirname(resolve(file)), { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: file,
    // WAL lets readers proceed while the single writer commits; busy_timeout makes a second
    // connection (e.g. the CLI while the app runs) wait instead of failing at once.
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
    },
  };
}
