import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Length,
  Matches,
  Max,
  Min,
  validateSync,
} from 'class-validator';
import { SIGN_TYPES, type SignType } from 'nestjs-wechat-pay-v2';
import { leaseFitsACall } from '../reconciler/lease-budget';

/** The demo's whole configuration, read once from the environment at start-up. */
export interface DemoConfig {
  port: number;
  host: string;
  /** Express's `trust proxy`: false, a hop count, or addresses/subnets of the proxies. */
  trustProxy: boolean | number | string;
  /** Serve the OpenAPI page at /docs. */
  apiDocs: boolean;
  databaseUrl: string;
  /** Start the embedded simulator (default) or talk to the configured WeChat hosts. */
  simulator: boolean;
  simulatorPort: number;
  wechat: {
    appId: string;
    appSecret: string;
    mchId: string;
    apiKey: string;
    signType: SignType;
    notifyUrl: string;
    payBaseUrl: string;
    apiBaseUrl: string;
    /**
     * Host of the certificate endpoints (refunds), https only. Undefined: the library uses
     * payBaseUrl; with the embedded simulator main.ts sets its TLS listener's URL.
     */
    secapiBaseUrl?: string;
    connectTimeoutMs: number;
    readTimeoutMs: number;
  };
  /** Signs session tokens; several instances must share it. */
  sessionSecret: string;
  sessionTtlSeconds: number;
  /** How long an unpaid order may be paid (WeChat's time_expire); at least 6 minutes. */
  orderTtlMinutes: number;
  /** GET /api/orders/:orderNo asks orderquery for unpaid orders older than this. */
  orderQueryAfterMs: number;
  reconciler: {
    enabled: boolean;
    intervalMs: number;
    batchSize: number;
    concurrency: number;
    leaseMs: number;
  };
  /** Requests per window; each limit is counted separately. */
  rateLimit: {
    windowMs: number;
    loginPerIp: number;
    ordersPerUser: number;
    ordersPerIp: number;
    /** Shared counters for several instances; in-process counters when absent. */
    redisUrl?: string;
    redisKeyPrefix: string;
  };
  metrics: {
    enabled: boolean;
    /** When set, GET /metrics requires `Authorization: Bearer <token>`. */
    token?: string;
  };
  /** Bearer token of the admin API (refunds, bills); the admin routes are off without one. */
  adminToken?: string;
  /**
   * The merchant API certificate for the /secapi endpoints (refunds), as file paths. With the
   * embedded simulator and none given, main.ts uses the simulator's own.
   */
  certificate: {
    p12Path?: string;
    /** Defaults to the mch_id, as WeChat issues the p12. */
    passphrase?: string;
    certPemPath?: string;
    keyPemPath?: string;
    /** A CA to trust for the WeChat hosts: only for a standalone simulator. */
    caPemPath?: string;
  };
  /** The embedded simulator's TLS port and certificate folder (SIMULATOR_TLS_PORT, SIMULATOR_CERT_DIR). */
  simulatorTlsPort: number;
  simulatorCertDir?: string;
  /** Where refund notifications go (the library's refund route). */
  refundNotifyUrl: string;
  billReconcile: {
    enabled: boolean;
    /** A cron expression, evaluated in Asia/Shanghai. */
    cron: string;
  };
}

export const DEFAULT_SQLITE_URL = 'sqlite:data/demo.sqlite';

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(v)) return true;
  if (['0', 'false', 'off', 'no'].includes(v)) return false;
  return value;
};

/** The environment variables the demo reads; every message names the variable, never a secret value. */
class DemoEnv {
  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer' })
  @Min(0)
  @Max(65535)
  PORT?: number;

  @IsOptional()
  @IsString()
  HOST?: string;

  @IsOptional()
  @IsString()
  NODE_ENV?: string;

  @IsOptional()
  @Matches(/^(on|off|true|false|\d{1,2}|[\w.:/, -]{1,256})$/i, {
    message: 'must be on, off, a hop count or a list of proxy addresses',
  })
  TRUST_PROXY?: string;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean({ message: 'must be on or off' })
  API_DOCS?: boolean;

  @IsOptional()
  @Matches(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, {
    message: 'must be sqlite:<file> or postgres://user@host:port/database',
  })
  DATABASE_URL?: string;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean({ message: 'must be on or off' })
  SIMULATOR?: boolean;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer' })
  @Min(0)
  @Max(65535)
  SIMULATOR_PORT?: number;

  @IsOptional()
  @IsString()
  @Length(1, 32, { message: 'must be 1 to 32 characters' })
  WECHAT_APP_ID?: string;

  @IsOptional()
  @IsString()
  @Length(1, 128, { message: 'must not be empty' })
  WECHAT_APP_SECRET?: string;

  @IsOptional()
  @Matches(/^\d{1,32}$/, { message: 'must be digits' })
  WECHAT_MCH_ID?: string;

  @IsOptional()
  @IsString()
  @Length(32, 32, { message: 'must be exactly 32 characters' })
  WECHAT_API_KEY?: string;

  @IsOptional()
  @IsIn(SIGN_TYPES, { message: `must be one of ${SIGN_TYPES.join(', ')}` })
  WECHAT_SIGN_TYPE?: SignType;

  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'must be an absolute URL' })
  @Matches(/^[^?#]*$/, { message: 'must not contain a query string' })
  WECHAT_NOTIFY_URL?: string;

  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'must be an absolute URL' })
  WECHAT_PAY_BASE_URL?: string;

  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'must be an absolute URL' })
  WECHAT_API_BASE_URL?: string;

  @IsOptional()
  @IsUrl(
    { require_tld: false, require_protocol: true, protocols: ['https'] },
    { message: 'must be an absolute https URL' },
  )
  WECHAT_SECAPI_BASE_URL?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer' })
  @Min(100)
  @Max(60_000)
  WECHAT_CONNECT_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer' })
  @Min(100)
  @Max(120_000)
  WECHAT_READ_TIMEOUT_MS?: number;

  @IsOptional()
  @IsString()
  @Length(16, 512, { message: 'must be at least 16 characters' })
  SESSION_SECRET?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer' })
  @Min(60)
  SESSION_TTL_SECONDS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer' })
  @Min(6, { message: 'must be at least 6 (WeChat requires 5 minutes, plus a margin for rounding)' })
  @Max(7 * 24 * 60)
  ORDER_TTL_MINUTES?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer' })
  @Min(0)
  ORDER_QUERY_AFTER_MS?: number;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean({ message: 'must be on or off' })
  RECONCILER_ENABLED?: boolean;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer' })
  @Min(100)
  RECONCILER_INTERVAL_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer' })
  @Min(1)
  @Max(1000)
  RECONCILER_BATCH_SIZE?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer' })
  @Min(1)
  @Max(64)
  RECONCILER_CONCURRENCY?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer' })
  @Min(1000)
  RECONCILER_LEASE_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer' })
  @Min(1000)
  @Max(24 * 3600 * 1000)
  RATE_LIMIT_WINDOW_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer' })
  @Min(1)
  RATE_LIMIT_LOGIN_PER_IP?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer' })
  @Min(1)
  RATE_LIMIT_ORDERS_PER_USER?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer' })
  @Min(1)
  RATE_LIMIT_ORDERS_PER_IP?: number;

  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'must be redis://host:port or rediss://host:port' })
  REDIS_URL?: string;

  @IsOptional()
  @Matches(/^[\w:.-]{1,64}$/, { message: 'must be 1 to 64 letters, digits or _ : . -' })
  REDIS_KEY_PREFIX?: string;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean({ message: 'must be on or off' })
  METRICS?: boolean;

  @IsOptional()
  @IsString()
  @Length(16, 256, { message: 'must be at least 16 characters' })
  METRICS_TOKEN?: string;

  @IsOptional()
  @IsString()
  @Length(16, 256, { message: 'must be at least 16 characters' })
  ADMIN_TOKEN?: string;

  @IsOptional()
  @IsString()
  @Length(1, 4096, { message: 'must be a file path' })
  WECHAT_CERT_P12?: string;

  @IsOptional()
  @IsString()
  @Length(1, 256, { message: 'must be 1 to 256 characters' })
  WECHAT_CERT_PASSPHRASE?: string;

  @IsOptional()
  @IsString()
  @Length(1, 4096, { message: 'must be a file path' })
  WECHAT_CERT_PEM?: string;

  @IsOptional()
  @IsString()
  @Length(1, 4096, { message: 'must be a file path' })
  WECHAT_KEY_PEM?: string;

  @IsOptional()
  @IsString()
  @Length(1, 4096, { message: 'must be a file path' })
  WECHAT_CA_PEM?: string;

  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'must be an absolute URL' })
  @Matches(/^[^?#]*$/, { message: 'must not contain a query string' })
  WECHAT_REFUND_NOTIFY_URL?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer' })
  @Min(0)
  @Max(65535)
  SIMULATOR_TLS_PORT?: number;

  @IsOptional()
  @IsString()
  @Length(1, 4096, { message: 'must be a folder path' })
  SIMULATOR_CERT_DIR?: string;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean({ message: 'must be on or off' })
  BILL_RECONCILE_ENABLED?: boolean;

  @IsOptional()
  @Matches(/^(\S+\s+){4,5}\S+$/, { message: 'must be a cron expression of 5 or 6 fields' })
  BILL_RECONCILE_CRON?: string;
}

export class DemoConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'DemoConfigError';
  }
}

/** Credentials the demo uses with the embedded simulator when no WECHAT_* values are set. */
export interface SimulatorMerchantDefaults {
  appId: string;
  appSecret: string;
  mchId: string;
  apiKey: string;
}

/**
 * Reads and validates the environment. With the simulator on, missing WeChat credentials fall back
 * to the simulator's built-in test merchant and the hosts to the simulator's URL (filled in by
 * main.ts once it listens); with SIMULATOR=off every credential is required.
 */
export function loadDemoConfig(
  env: NodeJS.ProcessEnv,
  simulatorDefaults: SimulatorMerchantDefaults,
  generatedSessionSecret: () => string,
): DemoConfig {
  const parsed = plainToInstance(DemoEnv, { ...env });
  const problems = validateSync(parsed, {
    whitelist: false,
    validationError: { target: false, value: false },
  }).flatMap((e) =>
    Object.values(e.constraints ?? {}).map(
      (m) => `${e.property} ${m.replace(new RegExp(`^${e.property}\\s*`), '')}`,
    ),
  );
  const simulator = parsed.SIMULATOR ?? true;
  if (!simulator) {
    for (const name of [
      'WECHAT_APP_ID',
      'WECHAT_APP_SECRET',
      'WECHAT_MCH_ID',
      'WECHAT_API_KEY',
      'WECHAT_NOTIFY_URL',
    ] as const) {
      if (!parsed[name]) problems.push(`${name} is required when SIMULATOR=off`);
    }
  }
  if ((parsed.WECHAT_CERT_PEM === undefined) !== (parsed.WECHAT_KEY_PEM === undefined)) {
    problems.push('WECHAT_CERT_PEM and WECHAT_KEY_PEM must be given together');
  }
  if (parsed.WECHAT_CERT_P12 !== undefined && parsed.WECHAT_CERT_PEM !== undefined) {
    problems.push('give WECHAT_CERT_P12 or WECHAT_CERT_PEM with WECHAT_KEY_PEM, not both');
  }
  const leaseMs = parsed.RECONCILER_LEASE_MS ?? 60_000;
  const connectTimeoutMs = parsed.WECHAT_CONNECT_TIMEOUT_MS ?? 6000;
  if (!leaseFitsACall(leaseMs, connectTimeoutMs)) {
    problems.push(
      'RECONCILER_LEASE_MS is too short for one WeChat call within WECHAT_CONNECT_TIMEOUT_MS',
    );
  }
  if (problems.length > 0) throw new DemoConfigError(problems);

  const production = parsed.NODE_ENV === 'production';
  const port = parsed.PORT ?? 3000;
  const simulatorPort = parsed.SIMULATOR_PORT ?? 3100;
  const simulatorUrl = `http://127.0.0.1:${simulatorPort}`;
  return {
    port,
    host: parsed.HOST ?? '127.0.0.1',
    trustProxy: trustProxy(parsed.TRUST_PROXY),
    // The API description helps an attacker as much as a developer: off in production unless asked.
    apiDocs: parsed.API_DOCS ?? !production,
    databaseUrl: parsed.DATABASE_URL ?? DEFAULT_SQLITE_URL,
    simulator,
    simulatorPort,
    wechat: {
      appId: parsed.WECHAT_APP_ID ?? simulatorDefaults.appId,
      appSecret: parsed.WECHAT_APP_SECRET ?? simulatorDefaults.appSecret,
      mchId: parsed.WECHAT_MCH_ID ?? simulatorDefaults.mchId,
      apiKey: parsed.WECHAT_API_KEY ?? simulatorDefaults.apiKey,
      signType: parsed.WECHAT_SIGN_TYPE ?? 'HMAC-SHA256',
      notifyUrl: parsed.WECHAT_NOTIFY_URL ?? `http://127.0.0.1:${port}/wechat-pay/notify`,
      payBaseUrl:
        parsed.WECHAT_PAY_BASE_URL ?? (simulator ? simulatorUrl : 'https://api.mch.weixin.qq.com'),
      apiBaseUrl:
        parsed.WECHAT_API_BASE_URL ?? (simulator ? simulatorUrl : 'https://api.weixin.qq.com'),
      secapiBaseUrl: parsed.WECHAT_SECAPI_BASE_URL,
      connectTimeoutMs,
      readTimeoutMs: parsed.WECHAT_READ_TIMEOUT_MS ?? 8000,
    },
    sessionSecret: parsed.SESSION_SECRET ?? generatedSessionSecret(),
    sessionTtlSeconds: parsed.SESSION_TTL_SECONDS ?? 7 * 24 * 3600,
    orderTtlMinutes: parsed.ORDER_TTL_MINUTES ?? 30,
    orderQueryAfterMs: parsed.ORDER_QUERY_AFTER_MS ?? 5000,
    reconciler: {
      enabled: parsed.RECONCILER_ENABLED ?? true,
      intervalMs: parsed.RECONCILER_INTERVAL_MS ?? 10_000,
      batchSize: parsed.RECONCILER_BATCH_SIZE ?? 50,
      concurrency: parsed.RECONCILER_CONCURRENCY ?? 4,
      leaseMs,
    },
    rateLimit: {
      windowMs: parsed.RATE_LIMIT_WINDOW_MS ?? 60_000,
      loginPerIp: parsed.RATE_LIMIT_LOGIN_PER_IP ?? 60,
      ordersPerUser: parsed.RATE_LIMIT_ORDERS_PER_USER ?? 10,
      ordersPerIp: parsed.RATE_LIMIT_ORDERS_PER_IP ?? 120,
      redisUrl: parsed.REDIS_URL,
      redisKeyPrefix: parsed.REDIS_KEY_PREFIX ?? 'demo-shop:',
    },
    metrics: {
      // Metrics name orders, volumes and WeChat's health: in production they need a token, or
      // METRICS=on to say the network already keeps /metrics private.
      enabled: parsed.METRICS ?? (!production || parsed.METRICS_TOKEN !== undefined),
      token: parsed.METRICS_TOKEN,
    },
    adminToken: parsed.ADMIN_TOKEN,
    certificate: {
      p12Path: parsed.WECHAT_CERT_P12,
      passphrase: parsed.WECHAT_CERT_PASSPHRASE,
      certPemPath: parsed.WECHAT_CERT_PEM,
      keyPemPath: parsed.WECHAT_KEY_PEM,
      caPemPath: parsed.WECHAT_CA_PEM,
    },
    simulatorTlsPort: parsed.SIMULATOR_TLS_PORT ?? 3101,
    simulatorCertDir: parsed.SIMULATOR_CERT_DIR,
    refundNotifyUrl:
      parsed.WECHAT_REFUND_NOTIFY_URL ?? `http://127.0.0.1:${port}/wechat-pay/refund-notify`,
    billReconcile: {
      enabled: parsed.BILL_RECONCILE_ENABLED ?? true,
      // 10:00 Beijing time: WeChat has the previous day's bill from about 09:00 (§10).
      cron: parsed.BILL_RECONCILE_CRON ?? '0 0 10 * * *',
    },
  };
}

function trustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  if (v === 'on' || v === 'true') return true;
  if (v === 'off' || v === 'false') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return value.trim();
}

export const DEMO_CONFIG = Symbol('DEMO_CONFIG');
