import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { DEFAULT_MAX_XML_BYTES } from 'nestjs-wechat-pay-v2/protocol';
import { BillApi } from './bill-api';
import { BillLedger } from './bills';
import { defaultCertDir, prepareCertificates, type MerchantCertificateFiles } from './certificates';
import { SimulatorClock } from './clock';
import { CONTROL_PREFIX, handleControl } from './control-api';
import { SimulatorControls } from './controls';
import { FaultInjector, type SimulatorFaults } from './faults';
import { LOGIN_ERRORS, LoginApi, loginFailure } from './login-api';
import { MerchantRegistry, merchantFromEnv, type SimulatorMerchant } from './merchants';
import { NOTIFY_REPLY_TIMEOUT_MS, Notifier } from './notifier';
import { servePage } from './pages/pages';
import { NO_ANSWER, PAY_PATHS, PayApi, RETURN_MSG, type PayPath } from './pay-api';
import { resolveRealism, type CompatLevel, type SimulatorRealism } from './realism';
import { RefundDesk } from './refunds';
import { SimulatorStore, type RetentionLimits } from './store';
import { TimerRegistry } from './timers';
import { CERTIFICATE_ERROR_PAGE, NO_CERTIFICATE_PAGE, peerCertificate } from './tls-gate';

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
  maxBillRows: 200_000,
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
  /** From acceptance to SUCCESS, before time scaling. */
  refundDelayMs: 5000,
  refundMinIntervalMs: 0,
  /** The service fee rate printed in bills, in percent. */
  feeRatePercent: 0.6,
  billCreating: true,
  /** A call the simulator accepts and never answers is dropped after this long (real time). */
  noAnswerHoldMs: 10 * MINUTE,
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
  /**
   * The certificate folder: the CA (`ca.pem`, `ca.key`), `server_key.pem`, and one folder per
   * mch_id with WeChat's file names. Reused when it exists; default defaultCertDir().
   */
  certDir?: string;
  /** Port of the HTTPS listener that serves /secapi/* to clients with a certificate; 0 (default) picks one. */
  tlsPort?: number;
  /** Host names or IPs the listener's certificate is valid for besides localhost, 127.0.0.1 and ::1. */
  tlsHosts?: string[];
  /** Real milliseconds, times timeScale, from a refund's acceptance to SUCCESS. Default 5000. */
  refundDelayMs?: number;
  /** A new refund of an order sooner than this after its previous one answers FREQUENCY_LIMITED. Default 0 (off). */
  refundMinIntervalMs?: number;
  /** The bills' service fee rate in percent, at most two decimals. Default 0.6 (0.60%). */
  feeRatePercent?: number;
  /** A day's bill answers `Bill Creating` until 09:00 Beijing time the next day. Default true. */
  billCreating?: boolean;
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
  /** `https://127.0.0.1:<tlsPort>`: every path, and the only one for /secapi/* (client certificate required). */
  readonly tlsBaseUrl: string;
  readonly tlsPort: number;
  /** The certificate folder in use. */
  readonly certDir: string;
  /** `<certDir>/ca.pem`: the CA to trust for tlsBaseUrl; it issued every merchant certificate. */
  readonly caPem: string;
  /** The first merchant's certificate files. */
  readonly certificate: Readonly<MerchantCertificateFiles>;
  /** The certificate files of every merchant number, in merchant order. */
  readonly certificates: ReadonlyArray<Readonly<MerchantCertificateFiles>>;
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
  body: string | Buffer,
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

const XML = 'text/xml; charset=utf-8';
const writeXml = (res: ServerResponse, xml: string) => write(res, 200, XML, xml);
const writeHtml = (res: ServerResponse, status: number, html: string) =>
  write(res, status, 'text/html', html);
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
    maxBillRows: limit('maxBillRows', input.maxBillRows, RETENTION_DEFAULTS.maxBillRows, true),
  });
}

/** The fee rate in basis points; more than two decimals of a percent is a configuration mistake. */
function feeRateBasisPoints(percent: number | undefined): number {
  const value = percent ?? SIMULATOR_DEFAULTS.feeRatePercent;
  const basisPoints = Math.round(value * 100);
  if (
    !Number.isFinite(value) ||
    value < 0 ||
    value > 100 ||
    Math.abs(basisPoints - value * 100) > 1e-6
  ) {
    throw new RangeError(
      'simulator option feeRatePercent must be a percentage from 0 to 100 with at most two decimals',
    );
  }
  return basisPoints;
}

function portOf(name: string, value: number | undefined): number {
  const port = value ?? 0;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`simulator option ${name} must be an integer from 0 to 65535`);
  }
  return port;
}

function tlsHostsOf(hosts: unknown): string[] {
  if (hosts === undefined) return [];
  if (
    !Array.isArray(hosts) ||
    !hosts.every((h) => typeof h === 'string' && /^[A-Za-z0-9.:-]{1,253}$/.test(h))
  ) {
    throw new RangeError('simulator option tlsHosts must be a list of host names or IP addresses');
  }
  return hosts as string[];
}

const listen = (server: Server, port: number, host: string) =>
  new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });

const urlOf = (scheme: string, address: AddressInfo) =>
  `${scheme}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

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

  const refundDelayMs = positive(
    'refundDelayMs',
    options.refundDelayMs,
    SIMULATOR_DEFAULTS.refundDelayMs,
  );
  const refundMinIntervalMs = positive(
    'refundMinIntervalMs',
    options.refundMinIntervalMs,
    SIMULATOR_DEFAULTS.refundMinIntervalMs,
  );
  const feeRate = feeRateBasisPoints(options.feeRatePercent);
  const billCreating = options.billCreating ?? SIMULATOR_DEFAULTS.billCreating;
  if (typeof billCreating !== 'boolean') {
    throw new RangeError('simulator option billCreating must be true or false');
  }
  const tlsPort = portOf('tlsPort', options.tlsPort);
  const tlsHosts = tlsHostsOf(options.tlsHosts);
  const certDir = options.certDir ?? defaultCertDir();
  if (typeof certDir !== 'string' || certDir === '') {
    throw new RangeError('simulator option certDir must be a folder path');
  }
  const host = options.host ?? SIMULATOR_DEFAULTS.host;
  const certificates = await prepareCertificates(
    certDir,
    merchants.all.map((m) => m.mchId),
    host === '0.0.0.0' || host === '::' ? tlsHosts : [...tlsHosts, host],
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
  const ledger = new BillLedger(() => clock.now(), retention.maxBillRows);
  const desk = new RefundDesk(store, clock, faults, timers, notifier, ledger, merchants, {
    delayMs: refundDelayMs * timeScale,
    realism,
  });
  const payApi = new PayApi(merchants, store, clock, faults, desk, {
    closeOrderMinAgeMs: positive(
      'closeOrderMinAgeMs',
      options.closeOrderMinAgeMs,
      SIMULATOR_DEFAULTS.closeOrderMinAgeMs,
    ),
    maxBodyBytes,
    realism,
    refundMinIntervalMs,
  });
  const billApi = new BillApi(merchants, ledger, clock, faults, {
    maxBodyBytes,
    feeRateBasisPoints: feeRate,
    billCreating,
    realism,
  });
  const loginApi = new LoginApi(merchants, store);
  const controls = new SimulatorControls(
    merchants,
    store,
    clock,
    faults,
    notifier,
    realism,
    desk,
    ledger,
    feeRate,
  );

  /** The slow fault holds the answer after the call took effect, like a reply lost to a client timeout. */
  const holdAnswer = async (path: string) => {
    const ms = faults.slowResponseMs(path);
    if (ms > 0) await timers.sleep(ms);
  };

  const route = async (
    req: IncomingMessage,
    res: ServerResponse,
    secure: boolean,
  ): Promise<void> => {
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
    // Over plain HTTP the certificate paths do not exist, as on a host without them.
    const known = (PAY_PATHS as readonly string[]).includes(path);
    const certificatePath = path.startsWith('/secapi/');
    if (known && certificatePath && !secure) return writePlain(res, 404, '404 Not Found');
    if (known) {
      let caller: { mchId: string } | undefined;
      if (certificatePath) {
        const peer = peerCertificate(req.socket as TLSSocket);
        if (peer.kind === 'none') return writeHtml(res, 400, NO_CERTIFICATE_PAGE);
        if (peer.kind === 'invalid') return writeHtml(res, 400, CERTIFICATE_ERROR_PAGE);
        caller = { mchId: peer.mchId };
      }
      let answer: string | typeof NO_ANSWER;
      if (method !== 'POST') answer = PayApi.fail(RETURN_MSG.notPost);
      else if (tooLarge) answer = PayApi.fail(RETURN_MSG.tooLarge);
      else answer = await payApi.handle(path as PayPath, body, caller);
      if (answer === NO_ANSWER) {
        // Accepted, never answered: the client's own timeout ends it, or this hold does.
        timers.after(SIMULATOR_DEFAULTS.noAnswerHoldMs, () => res.destroy());
        return;
      }
      await holdAnswer(path);
      return writeXml(res, answer);
    }
    if (path === '/pay/downloadbill') {
      let answer: { contentType: string; body: Buffer | string };
      if (method !== 'POST') answer = { contentType: XML, body: PayApi.fail(RETURN_MSG.notPost) };
      else if (tooLarge) answer = { contentType: XML, body: PayApi.fail(RETURN_MSG.tooLarge) };
      else answer = await billApi.handle(body);
      await holdAnswer(path);
      return write(res, 200, answer.contentType, answer.body);
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

  const handler = (secure: boolean) => (req: IncomingMessage, res: ServerResponse) => {
    route(req, res, secure).catch(() => {
      const control = (req.url ?? '').startsWith(CONTROL_PREFIX);
      if (control) writeJson(res, 500, { error: 'simulator internal error' });
      else writePlain(res, 500, '500 Internal Server Error');
    });
  };
  const server: Server = createServer(handler(false));
  // The listener asks for a client certificate but lets a handshake without one through, so
  // /secapi can answer the HTTP 400 page real clients get; other paths need no certificate.
  const tlsServer: Server = createTlsServer(
    {
      key: certificates.serverKeyPem,
      cert: certificates.serverCertPem,
      ca: [certificates.caPem],
      requestCert: true,
      rejectUnauthorized: false,
    },
    handler(true),
  );

  const address = await listen(server, options.port ?? 0, host);
  let tlsAddress: AddressInfo;
  try {
    tlsAddress = await listen(tlsServer, tlsPort, host);
  } catch (err) {
    await new Promise((resolve) => server.close(resolve));
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= new Promise<void>((resolve) => {
      timers.clearAll();
      notifier.stop();
      let open = 2;
      const closed = () => {
        open -= 1;
        if (open === 0) resolve();
      };
      for (const each of [server, tlsServer]) {
        each.close(closed);
        each.closeAllConnections();
      }
    });
    return stopping;
  };

  const files = certificates.merchants.map((m) => Object.freeze({ ...m }));
  const primary = files.find(
    (m) => m.mchId === merchants.primary.mchId,
  ) as MerchantCertificateFiles;
  return {
    baseUrl: urlOf('http', address),
    port: address.port,
    merchant: merchants.primary,
    merchants: merchants.all,
    controls,
    realism,
    retention,
    tlsBaseUrl: urlOf('https', tlsAddress),
    tlsPort: tlsAddress.port,
    certDir: certificates.dir,
    caPem: certificates.caPemPath,
    certificate: primary,
    certificates: files,
    stop,
  };
}
