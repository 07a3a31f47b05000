import { parseArgs } from 'node:util';
import { merchantFromEnv } from './merchants';
import { COMPAT_LEVELS, REALISM_ITEMS, type SimulatorRealism } from './realism';
import type { SimulatorOptions } from './simulator';

/** A command line the simulator cannot run with; the message says what to change. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

interface Setting {
  flag: string;
  env: string;
  kind: 'number' | 'limit' | 'text' | 'switch';
  help: string;
}

/** Every setting, as a flag and as an environment variable; a flag wins over its variable. */
export const CLI_SETTINGS = {
  port: {
    flag: 'port',
    env: 'SIMULATOR_PORT',
    kind: 'number',
    help: 'TCP port (default 3100; 0 picks a free one)',
  },
  host: {
    flag: 'host',
    env: 'SIMULATOR_HOST',
    kind: 'text',
    help: 'interface to listen on (default 127.0.0.1; 0.0.0.0 for a container)',
  },
  timeScale: {
    flag: 'time-scale',
    env: 'SIMULATOR_TIME_SCALE',
    kind: 'number',
    help: 'multiplies notification retry gaps and the reply timeout (default 1; 0.001 turns 15 s into 15 ms)',
  },
  closeOrderMinAgeMs: {
    flag: 'close-order-min-age-ms',
    env: 'SIMULATOR_CLOSE_ORDER_MIN_AGE_MS',
    kind: 'number',
    help: 'closeorder refuses younger orders with SYSTEMERROR (default 300000; 0 turns the rule off)',
  },
  defaultOrderExpiryMs: {
    flag: 'default-order-expiry-ms',
    env: 'SIMULATOR_DEFAULT_ORDER_EXPIRY_MS',
    kind: 'number',
    help: 'when an order without time_expire closes (default 86400000)',
  },
  notifyReplyTimeoutMs: {
    flag: 'notify-reply-timeout-ms',
    env: 'SIMULATOR_NOTIFY_REPLY_TIMEOUT_MS',
    kind: 'number',
    help: 'how long the merchant may take to answer a notification (default max(5000 x time scale, 500))',
  },
  maxBodyBytes: {
    flag: 'max-body-bytes',
    env: 'SIMULATOR_MAX_BODY_BYTES',
    kind: 'number',
    help: 'largest request body (default 65536)',
  },
  closedOrderMs: {
    flag: 'retain-closed-ms',
    env: 'SIMULATOR_RETAIN_CLOSED_MS',
    kind: 'limit',
    help: 'forget an unpaid order this long after it closed (default 86400000, one day; Infinity: never)',
  },
  paidOrderMs: {
    flag: 'retain-paid-ms',
    env: 'SIMULATOR_RETAIN_PAID_MS',
    kind: 'limit',
    help: 'forget a paid order this long after payment (default 604800000, a week; Infinity: never)',
  },
  maxOrders: {
    flag: 'max-orders',
    env: 'SIMULATOR_MAX_ORDERS',
    kind: 'limit',
    help: 'orders kept in memory at most, oldest finished ones forgotten first (default 50000; Infinity: no limit)',
  },
  compat: {
    flag: 'compat',
    env: 'SIMULATOR_COMPAT',
    kind: 'text',
    help: `realism level: ${COMPAT_LEVELS.join(' (default) or ')} (the 0.1 behaviour)`,
  },
  realism: {
    flag: 'realism',
    env: 'SIMULATOR_REALISM',
    kind: 'text',
    help: `single realism items on top of the level, e.g. notifySignType=on,newlines=off; items: ${REALISM_ITEMS.join(', ')}`,
  },
  faults: {
    flag: 'faults',
    env: 'SIMULATOR_FAULTS',
    kind: 'text',
    help: 'faults active from the start, as the JSON of POST /__simulator/faults, e.g. {"dropNotificationRate":0.3}',
  },
  tlsPort: {
    flag: 'tls-port',
    env: 'SIMULATOR_TLS_PORT',
    kind: 'number',
    help: 'port of the HTTPS listener (client certificates, /secapi/*) (default 3101; 0 picks a free one)',
  },
  certDir: {
    flag: 'cert-dir',
    env: 'SIMULATOR_CERT_DIR',
    kind: 'text',
    help: 'folder of the CA (ca.pem, ca.key) and of <mch_id>/apiclient_cert.p12 and friends; reused when present (default: a folder under the temp dir, printed at start)',
  },
  tlsHosts: {
    flag: 'tls-hosts',
    env: 'SIMULATOR_TLS_HOSTS',
    kind: 'text',
    help: 'more host names or IPs for the HTTPS certificate besides localhost, 127.0.0.1 and ::1, comma-separated',
  },
  refundDelayMs: {
    flag: 'refund-delay-ms',
    env: 'SIMULATOR_REFUND_DELAY_MS',
    kind: 'number',
    help: 'milliseconds from a refund being accepted to SUCCESS, times the time scale (default 5000)',
  },
  refundMinIntervalMs: {
    flag: 'refund-min-interval-ms',
    env: 'SIMULATOR_REFUND_MIN_INTERVAL_MS',
    kind: 'number',
    help: 'a new refund of an order sooner than this after its previous one answers FREQUENCY_LIMITED (default 0: off)',
  },
  refundNotifyUrl: {
    flag: 'refund-notify-url',
    env: 'SIMULATOR_REFUND_NOTIFY_URL',
    kind: 'text',
    help: "the merchant's refund notification URL, for refunds requested without notify_url (default none)",
  },
  feeRatePercent: {
    flag: 'fee-rate-percent',
    env: 'SIMULATOR_FEE_RATE_PERCENT',
    kind: 'number',
    help: 'service fee rate in bills, in percent with at most two decimals (default 0.6)',
  },
  billCreating: {
    flag: 'bill-creating',
    env: 'SIMULATOR_BILL_CREATING',
    kind: 'switch',
    help: "on (default): a day's bill answers Bill Creating until 09:00 Beijing time the next day; off: at once",
  },
  maxBillRows: {
    flag: 'max-bill-rows',
    env: 'SIMULATOR_MAX_BILL_ROWS',
    kind: 'limit',
    help: 'bill rows kept at most, oldest days forgotten first (default 200000; Infinity: no limit)',
  },
} as const satisfies Record<string, Setting>;

/** The HTTPS listener's port when none is given: the one after the default HTTP port. */
export const DEFAULT_TLS_PORT = 3101;

type SettingName = keyof typeof CLI_SETTINGS;

const MERCHANT_VARIABLES = [
  'WECHAT_APP_ID',
  'WECHAT_APP_SECRET',
  'WECHAT_MCH_ID',
  'WECHAT_API_KEY',
];

export function usage(): string {
  const rows = Object.values(CLI_SETTINGS as Record<string, Setting>).map(
    (s) => `  --${s.flag} <value>  (${s.env})\n      ${s.help}`,
  );
  return [
    'Usage: wechat-pay-v2-simulator [options]',
    '',
    'A local WeChat Pay API v2 simulator: unifiedorder, orderquery, closeorder, refund (over HTTPS',
    'with a client certificate), refundquery, downloadbill, jscode2session, signed payment and',
    'encrypted refund notifications with the real retry schedule, faults, and controls under',
    '/__simulator/. Every option can also be set through the environment variable in brackets;',
    'a flag wins over its variable.',
    '',
    'Options:',
    ...rows,
    '  --help       print this text',
    '  --version    print the version',
    '',
    'Merchant (environment only, all four or none; default: the built-in test merchant):',
    `  ${MERCHANT_VARIABLES.join(', ')}`,
    '',
    'Example: npx wechat-pay-v2-simulator --port 3100 --time-scale 0.01',
    '',
  ].join('\n');
}

export type CliCommand =
  { command: 'help' } | { command: 'version' } | { command: 'start'; options: SimulatorOptions };

function numberOf(name: string, text: string, allowInfinity: boolean): number {
  const trimmed = text.trim();
  const value = Number(trimmed);
  const ok =
    trimmed !== '' &&
    (Number.isFinite(value) || (allowInfinity && value === Number.POSITIVE_INFINITY));
  if (!ok) {
    throw new CliUsageError(`${name} must be a number${allowInfinity ? ' or Infinity' : ''}`);
  }
  return value;
}

function realismOverrides(name: string, text: string): Partial<SimulatorRealism> {
  const out: Record<string, boolean> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const match = /^([A-Za-z]+)=(on|off|true|false)$/.exec(part);
    if (!match) throw new CliUsageError(`${name} takes item=on|off pairs, got "${part}"`);
    out[match[1]] = match[2] === 'on' || match[2] === 'true';
  }
  return out;
}

/** Reads argv (without node and the script) and the environment into what the bin does. */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliCommand {
  const options = Object.fromEntries(
    Object.values(CLI_SETTINGS as Record<string, Setting>).map((s) => [
      s.flag,
      { type: 'string' as const },
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { command: 'help' };
  if (values.version) return { command: 'version' };

  const raw = (name: SettingName): [string, string] | undefined => {
    const setting: Setting = CLI_SETTINGS[name];
    const flag = values[setting.flag];
    if (typeof flag === 'string') return [`--${setting.flag}`, flag];
    const fromEnv = env[setting.env];
    return fromEnv === undefined || fromEnv === '' ? undefined : [setting.env, fromEnv];
  };
  const num = (name: SettingName) => {
    const found = raw(name);
    return found && numberOf(found[0], found[1], CLI_SETTINGS[name].kind === 'limit');
  };

  const start: SimulatorOptions = {
    port: num('port') ?? 3100,
    tlsPort: num('tlsPort') ?? DEFAULT_TLS_PORT,
  };
  const host = raw('host');
  if (host) start.host = host[1];
  for (const name of [
    'timeScale',
    'closeOrderMinAgeMs',
    'defaultOrderExpiryMs',
    'notifyReplyTimeoutMs',
    'maxBodyBytes',
    'refundDelayMs',
    'refundMinIntervalMs',
    'feeRatePercent',
  ] as const) {
    const value = num(name);
    if (value !== undefined) start[name] = value;
  }
  const certDir = raw('certDir');
  if (certDir) start.certDir = certDir[1];
  const tlsHosts = raw('tlsHosts');
  if (tlsHosts) {
    start.tlsHosts = tlsHosts[1]
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== '');
  }
  const billCreating = raw('billCreating');
  if (billCreating) {
    const match = /^(on|off|true|false)$/.exec(billCreating[1].trim());
    if (!match) throw new CliUsageError(`${billCreating[0]} must be on or off`);
    start.billCreating = match[1] === 'on' || match[1] === 'true';
  }
  const refundNotifyUrl = raw('refundNotifyUrl');
  if (refundNotifyUrl) {
    start.merchants = [{ ...merchantFromEnv(env), refundNotifyUrl: refundNotifyUrl[1] }];
  }
  const retention: NonNullable<SimulatorOptions['retention']> = {};
  for (const name of ['closedOrderMs', 'paidOrderMs', 'maxOrders', 'maxBillRows'] as const) {
    const value = num(name);
    if (value !== undefined) retention[name] = value;
  }
  if (Object.keys(retention).length > 0) start.retention = retention;
  const compat = raw('compat');
  if (compat) start.compat = compat[1] as SimulatorOptions['compat'];
  const realism = raw('realism');
  if (realism) start.realism = realismOverrides(realism[0], realism[1]);
  const faults = raw('faults');
  if (faults) {
    try {
      start.faults = JSON.parse(faults[1]) as SimulatorOptions['faults'];
    } catch {
      throw new CliUsageError(`${faults[0]} must be a JSON object`);
    }
  }
  return { command: 'start', options: start };
}
