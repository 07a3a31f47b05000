/**
 * Command-line flags and SOAK_* environment variables of `npm run soak`. A flag wins over its
 * variable; every bad value stops the run before anything starts, naming the flag.
 */
export type SoakDatabaseKind = 'postgres' | 'sqlite';

export interface SoakOptions {
  database: SoakDatabaseKind;
  /** A PostgreSQL URL the soak can create and drop databases through (its database is not used). */
  postgresUrl: string;
  instances: number;
  users: number;
  /** Orders to place, spread evenly over the load. */
  orders: number;
  durationS: number;
  /** The simulator's SIMULATOR_TIME_SCALE: WeChat's 24 h notification retry schedule times this. */
  timeScale: number;
  dropRate: number;
  systemErrorRate: number;
  /** Concurrent copies of one signed notification, posted once during the load. */
  copies: number;
  /** A payment not recorded this long after it was made counts as lost. */
  settleDeadlineS: number;
  /** An unpaid order this long past its expiry and still not closed counts as stuck. */
  expiryGraceS: number;
  /** Wait, after the load, until the first orders are past expiry plus grace. */
  waitForExpiry: boolean;
  orderTtlMinutes: number;
  reconcilerIntervalMs: number;
  reconcilerLeaseMs: number;
  build: 'auto' | 'always' | 'never';
  json: boolean;
  keepDatabase: boolean;
  /** Extra variables for every demo instance, e.g. a rate limit raised for the run. */
  appEnv: Record<string, string>;
  /** Extra variables for the simulator, e.g. its retention limit. */
  simulatorEnv: Record<string, string>;
}

export class SoakOptionsError extends Error {}

export const USAGE = `npm run soak [-- options]

Runs the WeChat Pay simulator, several demo shop instances behind a load balancer and virtual users
placing and paying orders, injects faults (dropped notifications, SYSTEMERROR, kill -9, database
connections killed, a WeChat partition, concurrent copies of one notification), then audits money:
exit status 1 on any lost, false or double payment.

Options (environment variable in brackets; a flag wins):
  --db postgres|sqlite        database of the demo [SOAK_DB] (postgres)
  --postgres-url URL          server to create the run's database on [SOAK_POSTGRES_URL]
                              (postgres://postgres@127.0.0.1:5432/postgres)
  --instances N               demo instances [SOAK_INSTANCES] (3; 1 with sqlite)
  --users N                   virtual users [SOAK_USERS] (24)
  --duration S                seconds of load; outages are placed and sized as fractions of it
                              [SOAK_DURATION] (240)
  --orders N                  orders placed over the load [SOAK_ORDERS] (8 per second of load)
  --time-scale X              SIMULATOR_TIME_SCALE [SOAK_TIME_SCALE] (0.01: 24 h of retries in 14 min)
  --drop-rate X               fraction of notification sends dropped [SOAK_DROP_RATE] (0.3)
  --system-error-rate X       fraction of WeChat calls answering SYSTEMERROR [SOAK_SYSTEM_ERROR_RATE] (0.1)
  --copies N                  concurrent copies of one signed notification [SOAK_COPIES] (100)
  --settle-deadline S         a payment unrecorded after this is lost [SOAK_SETTLE_DEADLINE] (180)
  --expiry-grace S            unpaid this long past expiry is stuck [SOAK_EXPIRY_GRACE] (90)
  --no-expiry-wait            audit right after settling instead of waiting for orders to expire
                              (stuck is then not measured) [SOAK_EXPIRY_WAIT=off]
  --order-ttl M               ORDER_TTL_MINUTES of the demo [SOAK_ORDER_TTL] (6, its minimum)
  --reconciler-interval MS    RECONCILER_INTERVAL_MS [SOAK_RECONCILER_INTERVAL] (2000)
  --reconciler-lease MS       RECONCILER_LEASE_MS [SOAK_RECONCILER_LEASE] (10000)
  --build | --no-build        always / never run npm run build (default: when dist is missing or stale)
  --json                      print the report as JSON on stdout (progress stays on stderr)
  --keep-database             do not drop the run's database (or SQLite file)
  --app-env NAME=VALUE        extra variable for every demo instance (repeatable)
  --simulator-env NAME=VALUE  extra variable for the simulator (repeatable)
  --help`;

interface Reader {
  flags: Map<string, string[]>;
  env: NodeJS.ProcessEnv;
}

const VALUE_FLAGS = new Set([
  'db',
  'postgres-url',
  'instances',
  'users',
  'duration',
  'orders',
  'time-scale',
  'drop-rate',
  'system-error-rate',
  'copies',
  'settle-deadline',
  'expiry-grace',
  'order-ttl',
  'reconciler-interval',
  'reconciler-lease',
  'app-env',
  'simulator-env',
]);
const SWITCHES = new Set(['no-expiry-wait', 'build', 'no-build', 'json', 'keep-database', 'help']);

function readFlags(argv: string[]): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new SoakOptionsError(`unexpected argument ${arg}`);
    const [, name, inline] = match;
    let value: string;
    if (SWITCHES.has(name)) {
      if (inline !== undefined) throw new SoakOptionsError(`--${name} takes no value`);
      value = 'true';
    } else if (VALUE_FLAGS.has(name)) {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new SoakOptionsError(`--${name} needs a value`);
      value = next;
    } else {
      throw new SoakOptionsError(`unknown option --${name} (see --help)`);
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return flags;
}

function raw(r: Reader, flag: string, envName: string): string | undefined {
  const fromFlag = r.flags.get(flag);
  if (fromFlag) return fromFlag[fromFlag.length - 1];
  const fromEnv = r.env[envName];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

function number(
  r: Reader,
  flag: string,
  envName: string,
  fallback: number,
  { min, max, integer }: { min: number; max: number; integer: boolean },
): number {
  const text = raw(r, flag, envName);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (
    !Number.isFinite(value) ||
    (integer && !Number.isInteger(value)) ||
    value < min ||
    value > max
  )
    throw new SoakOptionsError(
      `--${flag} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`,
    );
  return value;
}

function assignments(r: Reader, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of r.flags.get(flag) ?? []) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(item);
    if (!match) throw new SoakOptionsError(`--${flag} takes NAME=VALUE`);
    out[match[1]] = match[2];
  }
  return out;
}

/** Undefined means --help was asked for. */
export function parseSoakOptions(argv: string[], env: NodeJS.ProcessEnv): SoakOptions | undefined {
  const r: Reader = { flags: readFlags(argv), env };
  if (r.flags.has('help')) return undefined;

  const database = raw(r, 'db', 'SOAK_DB') ?? 'postgres';
  if (database !== 'postgres' && database !== 'sqlite')
    throw new SoakOptionsError('--db must be postgres or sqlite');
  const postgresUrl =
    raw(r, 'postgres-url', 'SOAK_POSTGRES_URL') ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  if (!/^postgres(ql)?:\/\/[^/]+\/[^/?]+/.test(postgresUrl))
    throw new SoakOptionsError('--postgres-url must be postgres://user@host:port/database');

  const instances = number(r, 'instances', 'SOAK_INSTANCES', database === 'sqlite' ? 1 : 3, {
    min: 1,
    max: 16,
    integer: true,
  });
  // TypeORM drives SQLite through one connection per process: a second instance would be a
  // second writer on the same file, which is not how the demo is meant to run.
  if (database === 'sqlite' && instances !== 1)
    throw new SoakOptionsError('--instances must be 1 with --db sqlite');

  const durationS = number(r, 'duration', 'SOAK_DURATION', 240, {
    min: 40,
    max: 24 * 3600,
    integer: true,
  });
  const buildFlag = r.flags.has('build') ? 'always' : r.flags.has('no-build') ? 'never' : 'auto';
  if (r.flags.has('build') && r.flags.has('no-build'))
    throw new SoakOptionsError('--build and --no-build exclude each other');
  const expiryEnv = env.SOAK_EXPIRY_WAIT?.trim().toLowerCase();
  if (expiryEnv !== undefined && expiryEnv !== '' && !['on', 'off'].includes(expiryEnv))
    throw new SoakOptionsError('SOAK_EXPIRY_WAIT must be on or off');

  return {
    database,
    postgresUrl,
    instances,
    users: number(r, 'users', 'SOAK_USERS', 24, { min: 1, max: 2000, integer: true }),
    durationS,
    orders: number(r, 'orders', 'SOAK_ORDERS', durationS * 8, {
      min: 1,
      max: 10_000_000,
      integer: true,
    }),
    timeScale: number(r, 'time-scale', 'SOAK_TIME_SCALE', 0.01, {
      min: 0.0001,
      max: 1,
      integer: false,
    }),
    dropRate: number(r, 'drop-rate', 'SOAK_DROP_RATE', 0.3, { min: 0, max: 1, integer: false }),
    systemErrorRate: number(r, 'system-error-rate', 'SOAK_SYSTEM_ERROR_RATE', 0.1, {
      min: 0,
      max: 1,
      integer: false,
    }),
    copies: number(r, 'copies', 'SOAK_COPIES', 100, { min: 0, max: 10_000, integer: true }),
    settleDeadlineS: number(r, 'settle-deadline', 'SOAK_SETTLE_DEADLINE', 180, {
      min: 5,
      max: 24 * 3600,
      integer: true,
    }),
    expiryGraceS: number(r, 'expiry-grace', 'SOAK_EXPIRY_GRACE', 90, {
      min: 0,
      max: 24 * 3600,
      integer: true,
    }),
    waitForExpiry: !r.flags.has('no-expiry-wait') && expiryEnv !== 'off',
    orderTtlMinutes: number(r, 'order-ttl', 'SOAK_ORDER_TTL', 6, {
      min: 6,
      max: 7 * 24 * 60,
      integer: true,
    }),
    reconcilerIntervalMs: number(r, 'reconciler-interval', 'SOAK_RECONCILER_INTERVAL', 2000, {
      min: 100,
      max: 3_600_000,
      integer: true,
    }),
    reconcilerLeaseMs: number(r, 'reconciler-lease', 'SOAK_RECONCILER_LEASE', 10_000, {
      min: 1000,
      max: 3_600_000,
      integer: true,
    }),
    build: buildFlag,
    json: r.flags.has('json'),
    keepDatabase: r.flags.has('keep-database'),
    appEnv: assignments(r, 'app-env'),
    simulatorEnv: assignments(r, 'simulator-env'),
  };
}
