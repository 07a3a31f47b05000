import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_MAX_XML_BYTES } from 'nestjs-wechat-pay-v2/protocol';
import { SimulatorClock } from './clock';
import { CONTROL_PREFIX, handleControl } from './control-api';
import { SimulatorControls } from './controls';
import { FaultInjector, type SimulatorFaults } from './faults';
import { LOGIN_ERRORS, LoginApi, loginFailure } from './login-api';
import { MerchantRegistry, merchantFromEnv, type SimulatorMerchant } from './merchants';
import { NOTIFY_REPLY_TIMEOUT_MS, Notifier } from './notifier';
import { servePage } from './pages/pages';
import { PAY_PATHS, PayApi, RETURN_MSG, type PayPath } from './pay-api';
import { resolveRealism, type CompatLevel, type SimulatorRealism } from './realism';
import { SimulatorStore, type RetentionLimits } from './store';
import { TimerRegistry } from './timers';

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * What the simulator keeps by default. Paid orders stay a week, so orderquery, refunds and the
 * daily bills of the last days find them; unpaid orders a day after they closed. 50,000 orders
 * at most (about 100 MiB with notifications; see the README).
 */
export const RETENTION_DEFAULTS: Readonly<RetentionLimits> = Object.freeze({
  closedOrderMs: DAY,
  paidOrderMs: 7 * DAY,
  maxOrders: 50_000,
});

/** The simulator's defaults; each can be overridden through SimulatorOptions. */
export const SIMULATOR_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  timeScale: 1,
  closeOrderMinAgeMs: 5 * MINUTE,
  defaultOrderExpiryMs: 24 * HOUR,
  prepayLifeMs: 2 * HOUR,
  loginCodeLifeMs: 5 * MINUTE,
  /** The scaled 5 s reply timeout never drops below this, so a busy test machine is not mistaken for a dead merchant. */
  minNotifyReplyTimeoutMs: 500,
  maxBodyBytes: DEFAULT_MAX_XML_BYTES,
});

export interface SimulatorOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Merchants accepted; default the WECHAT_* environment variables, else TEST_MERCHANT. */
  merchants?: SimulatorMerchant[];
  /** Multiplies the notification retry gaps and reply timeout: 0.001 turns 15 s into 15 ms. Default 1. */
  timeScale?: number;
  /** closeorder refuses (SYSTEMERROR) orders younger than this. Default 5 minutes; 0 turns the rule off. */
  closeOrderMinAgeMs?: number;
  /** When an order without time_expire closes itself. Default 24 hours. */
  defaultOrderExpiryMs?: number;
  /** How long the merchant may take to answer a notification. Default max(5 s × timeScale, 500 ms). */
  notifyReplyTimeoutMs?: number;
  /** Largest request body accepted. Default 64 KiB. */
  maxBodyBytes?: number;
  /** Random source for fractional faults; default Math.random. */
  random?: () => number;
  /** Faults active from the start. */
  faults?: Partial<SimulatorFaults>;
  /** How close the wire format is to captured traffic: `faithful` (default) or `plain`. */
  compat?: CompatLevel;
  /** Single realism items on top of `compat`, e.g. `{ notifySignType: true }`. */
  realism?: Partial<SimulatorRealism>;
  /** How long and how many finished orders are kept in memory; defaults in RETENTION_DEFAULTS. */
  retention?: Partial<RetentionLimits>;
}

export interface RunningSimulator {
  /** `http://127.0.0.1:<port>`: use it as both the WeChat Pay and the mini-program API base URL. */
  readonly baseUrl: string;
  readonly port: number;
  /** The first (default) merchant. */
  readonly merchant: Readonly<SimulatorMerchant>;
  readonly merchants: ReadonlyArray<Readonly<SimulatorMerchant>>;
  readonly controls: SimulatorControls;
  /** The realism items in force (compat level plus overrides). */
  readonly realism: Readonly<SimulatorRealism>;
  /** The retention limits in force. */
  readonly retention: Readonly<RetentionLimits>;
  /** Closes every socket and clears every timer; safe to call twice. */
  stop(): Promise<void>;
}

interface BodyRead {
  body: Buffer;
  tooLarge: boolean;
}

/** Reads a request body up to `limit` bytes; a larger one is drained and reported, not buffered. */
function readBody(req: IncomingMessage, limit: number): Promise<BodyRead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), tooLarge: size > limit }));
    req.on('error', reject);
  });
}

function write(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, {
    ...headers,
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

const writeXml = (res: ServerResponse, xml: string) =>
  write(res, 200, 'text/xml; charset=utf-8', xml);
const writeJson = (res: ServerResponse, status: number, value: unknown) =>
  write(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
/** Outside the control surface errors are plain HTTP ones, as from the real hosts: never JSON. */
const writePlain = (res: ServerResponse, status: number, text: string) =>
  write(res, status, 'text/plain; charset=utf-8', text);

function positive(
  name: string,
  value: number | undefined,
  fallback: number,
  allowZero = true,
): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new RangeError(
      `simulator option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`,
    );
  }
  return v;
}

/** A retention limit: a positive number of milliseconds or orders, or Infinity for no limit. */
function limit(name: string, value: number | undefined, fallback: number, integer = false): number {
  const v = value ?? fallback;
  const valid = v === Number.POSITIVE_INFINITY || (Number.isFinite(v) && v > 0);
  if (!valid || (integer && Number.isFinite(v) && !Number.isSafeInteger(v))) {
    throw new RangeError(
      `simulator option retention.${name} must be a positive ${integer ? 'integer' : 'number'} or Infinity`,
    );
  }
  return v;
}

function retentionOf(input: Partial<RetentionLimits> = {}): Readonly<RetentionLimits> {
  return Object.freeze({
    closedOrderMs: limit('closedOrderMs', input.closedOrderMs, RETENTION_DEFAULTS.closedOrderMs),
    paidOrderMs: limit('paidOrderMs', input.paidOrderMs, RETENTION_DEFAULTS.paidOrderMs),
    maxOrders: limit('maxOrders', input.maxOrders, RETENTION_DEFAULTS.maxOrders, true),
  });
}

/** Starts a simulator and resolves once it is listening. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const realism = resolveRealism(options.compat, options.realism);
  const retention = retentionOf(options.retention);
  const merchants = new MerchantRegistry(options.merchants ?? [merchantFromEnv(process.env)]);
  const timeScale = positive('timeScale', options.timeScale, SIMULATOR_DEFAULTS.timeScale, false);
  const maxBodyBytes = positive(
    'maxBodyBytes',
    options.maxBodyBytes,
    SIMULATOR_DEFAULTS.maxBodyBytes,
    false,
  );
  const replyTimeoutMs = positive(
    'notifyReplyTimeoutMs',
    options.notifyReplyTimeoutMs,
    Math.max(NOTIFY_REPLY_TIMEOUT_MS * timeScale, SIMULATOR_DEFAULTS.minNotifyReplyTimeoutMs),
    false,
  );

  const clock = new SimulatorClock();
  const timers = new TimerRegistry();
  const faults = new FaultInjector(options.random);
  if (options.faults) faults.set(options.faults);
  const store = new SimulatorStore(clock, {
    prepayLifeMs: SIMULATOR_DEFAULTS.prepayLifeMs,
    loginCodeLifeMs: SIMULATOR_DEFAULTS.loginCodeLifeMs,
    defaultOrderExpiryMs: positive(
      'defaultOrderExpiryMs',
      options.defaultOrderExpiryMs,
      SIMULATOR_DEFAULTS.defaultOrderExpiryMs,
      false,
    ),
    retention,
  });
  const notifier = new Notifier(clock, faults, timers, {
    timeScale,
    replyTimeoutMs,
    realism,
    apiKeyFor: (order) => merchants.bound(order.appId, order.mchId)?.apiKey ?? '',
  });
  const payApi = new PayApi(merchants, store, clock, faults, {
    closeOrderMinAgeMs: positive(
      'closeOrderMinAgeMs',
      options.closeOrderMinAgeMs,
      SIMULATOR_DEFAULTS.closeOrderMinAgeMs,
    ),
    maxBodyBytes,
    realism,
  });
  const loginApi = new LoginApi(merchants, store);
  const controls = new SimulatorControls(merchants, store, clock, faults, notifier, realism);

  /** The slow fault holds the answer after the call took effect, like a reply lost to a client timeout. */
  const holdAnswer = async (path: string) => {
    const ms = faults.slowResponseMs(path);
    if (ms > 0) await timers.sleep(ms);
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const { body, tooLarge } = await readBody(req, maxBodyBytes);

    if (path.startsWith(CONTROL_PREFIX) || `${path}/` === CONTROL_PREFIX) {
      if (tooLarge) return writeJson(res, 413, { error: `the body exceeds ${maxBodyBytes} bytes` });
      const page = servePage(controls, method, url, body);
      if (page) return write(res, page.status, page.contentType, page.body, page.headers);
      const reply = handleControl(controls, method, url, body);
      return writeJson(res, reply.status, reply.body);
    }
    if ((PAY_PATHS as readonly string[]).includes(path)) {
      let xml: string;
      if (method !== 'POST') xml = PayApi.fail(RETURN_MSG.notPost);
      else if (tooLarge) xml = PayApi.fail(RETURN_MSG.tooLarge);
      else xml = await payApi.handle(path as PayPath, body);
      await holdAnswer(path);
      return writeXml(res, xml);
    }
    if (path === '/sns/jscode2session') {
      let answer: unknown;
      if (method !== 'GET') answer = loginFailure(LOGIN_ERRORS.notGet);
      else if (faults.takeSystemError(path)) answer = loginFailure(LOGIN_ERRORS.systemBusy);
      else answer = loginApi.code2Session(url.searchParams);
      await holdAnswer(path);
      return writeJson(res, 200, answer);
    }
    writePlain(res, 404, '404 Not Found');
  };

  const server: Server = createServer((req, res) => {
    route(req, res).catch(() => {
      const control = (req.url ?? '').startsWith(CONTROL_PREFIX);
      if (control) writeJson(res, 500, { error: 'simulator internal error' });
      else writePlain(res, 500, '500 Internal Server Error');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? SIMULATOR_DEFAULTS.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= new Promise<void>((resolve) => {
      timers.clearAll();
      notifier.stop();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return stopping;
  };

  return {
    baseUrl: `http://${host}:${address.port}`,
    port: address.port,
    merchant: merchants.primary,
    merchants: merchants.all,
    controls,
    realism,
    retention,
    stop,
  };
}
