import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createNonce, sign, parseXml } from 'nestjs-wechat-pay-v2/protocol';
import type { SimulatorClock } from './clock';
import type { FaultInjector } from './faults';
import { paymentAmountFields } from './pay-api';
import type { SimulatorRealism } from './realism';
import type { SimulatedOrder } from './store';
import type { TimerRegistry } from './timers';
import { renderXml, type WireFields, type WireLayout } from './wire';

/**
 * Gaps between notification sends (§6.4): the published list of 15 intervals read as the waits
 * after the first send, so a notification is sent at most 16 times over 24 h 4 min.
 */
export const NOTIFY_RETRY_GAPS_MS: readonly number[] = [
  15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
].map((seconds) => seconds * 1000);

export const NOTIFY_MAX_SENDS = NOTIFY_RETRY_GAPS_MS.length + 1;

/** WeChat's wait for a merchant reply, before time scaling (the v3 figure; v2 does not say). */
export const NOTIFY_REPLY_TIMEOUT_MS = 5000;

/** How long to wait after send number `attempt` (1-based) failed, or undefined after the last send. */
export function retryGapMs(attempt: number, timeScale: number): number | undefined {
  const gap = NOTIFY_RETRY_GAPS_MS[attempt - 1];
  return gap === undefined ? undefined : gap * timeScale;
}

export type NotificationOutcome = 'delivered' | 'failed' | 'dropped';

/** One send of one notification (or one copy of it, under the copies fault). */
export interface NotificationAttempt {
  outTradeNo: string;
  mchId: string;
  transactionId: string;
  /** 1 for the first send, up to NOTIFY_MAX_SENDS. */
  attempt: number;
  /** 1 unless the copies fault sends several concurrent copies of this attempt. */
  copy: number;
  /** When it was sent (simulator clock, ISO). */
  sentAt: string;
  /** The merchant's HTTP status, when it answered. */
  status?: number;
  /** Why no usable answer came back (timeout, connection refused, ...). */
  error?: string;
  /** The merchant's reply body, cut to REPLY_EXCERPT_CHARS characters. */
  reply?: string;
  outcome: NotificationOutcome;
  /** When the next send is due (simulator clock, ISO), if another one was scheduled. */
  nextAttemptAt?: string;
}

const REPLY_EXCERPT_CHARS = 512;
const MAX_REPLY_BYTES = 64 * 1024;

export interface NotifierSettings {
  timeScale: number;
  replyTimeoutMs: number;
  realism: Readonly<SimulatorRealism>;
  apiKeyFor(order: SimulatedOrder): string;
}

/** `total_fee` stays a bare integer in captured notifications even where the others are CDATA. */
const BARE_IN_NOTIFICATIONS: ReadonlySet<string> = new Set(['total_fee']);

interface AttemptEntry {
  readonly order: SimulatedOrder;
  readonly record: NotificationAttempt;
}

interface SendResult {
  status?: number;
  body?: string;
  error?: string;
}

/** Delivers payment notifications to each order's notify_url and retries them on the §6.4 schedule. */
export class Notifier {
  /** Every send, oldest first; entries of orders the store has forgotten are dropped on read. */
  private attempts: AttemptEntry[] = [];
  private readonly inFlight = new Set<ClientRequest>();
  private readonly layout: WireLayout;
  private stopped = false;

  constructor(
    private readonly clock: SimulatorClock,
    private readonly faults: FaultInjector,
    private readonly timers: TimerRegistry,
    private readonly settings: NotifierSettings,
  ) {
    this.layout = {
      newlines: settings.realism.newlines,
      cdataIntegers: settings.realism.cdataIntegers,
      bare: BARE_IN_NOTIFICATIONS,
    };
  }

  /** Starts delivering the notification of an order that has just been paid. */
  start(order: SimulatedOrder): void {
    order.notification = 'pending';
    this.timers.after(0, () => void this.attempt(order, 1));
  }

  records(): NotificationAttempt[] {
    if (this.attempts.some((entry) => !entry.order.retained)) {
      this.attempts = this.attempts.filter((entry) => entry.order.retained);
    }
    return this.attempts.map((entry) => ({ ...entry.record }));
  }

  stop(): void {
    this.stopped = true;
    for (const req of this.inFlight) req.destroy();
    this.inFlight.clear();
  }

  /**
   * The signed XML of a payment notification, fields in name order as in captures. Under the
   * faithful defaults it has no `sign_type` (the 64-hex sign tells HMAC-SHA256 apart), echoes the
   * unifiedorder nonce, carries the extension fields and has one element per line.
   */
  buildBody(order: SimulatedOrder): string {
    const realism = this.settings.realism;
    const fields: WireFields = {
      return_code: 'SUCCESS',
      appid: order.appId,
      mch_id: order.mchId,
      device_info: order.deviceInfo || undefined,
      nonce_str: realism.echoOrderNonce ? order.requestNonce : createNonce(),
      result_code: 'SUCCESS',
      openid: order.openid,
      is_subscribe: 'N',
      trade_type: order.tradeType,
      bank_type: order.bankType,
      fee_type: order.feeType,
      ...paymentAmountFields(order, realism.extensionFields),
      transaction_id: order.transactionId,
      out_trade_no: order.outTradeNo,
      attach: order.attach || undefined,
      time_end: order.timeEnd,
      sign_type:
        realism.notifySignType && order.signType === 'HMAC-SHA256' ? 'HMAC-SHA256' : undefined,
    };
    fields.sign = sign(fields, this.settings.apiKeyFor(order), order.signType);
    const ordered: WireFields = {};
    for (const name of Object.keys(fields).sort()) ordered[name] = fields[name];
    return renderXml(ordered, this.layout);
  }

  private async attempt(order: SimulatedOrder, attempt: number): Promise<void> {
    // The store forgot the order (its count limit): nothing is left to deliver.
    if (!order.retained) return;
    const startedAt = Date.now();
    const base = {
      outTradeNo: order.outTradeNo,
      mchId: order.mchId,
      transactionId: order.transactionId ?? '',
      attempt,
    };
    let records: NotificationAttempt[];
    if (this.faults.takeNotificationDrop()) {
      records = [{ ...base, copy: 1, sentAt: this.clock.date().toISOString(), outcome: 'dropped' }];
    } else {
      const delayMs = this.faults.notificationDelayMs();
      if (delayMs > 0) await this.timers.sleep(delayMs);
      if (this.stopped) return;
      const body = this.buildBody(order);
      const sentAt = this.clock.date().toISOString();
      const copies = Array.from({ length: this.faults.notificationCopies() }, (_, i) => i + 1);
      records = await Promise.all(
        copies.map(async (copy) =>
          this.judge({ ...base, copy, sentAt }, await this.send(order.notifyUrl, body)),
        ),
      );
    }
    if (this.stopped || !order.retained) return;
    for (const record of records) this.attempts.push({ order, record });
    if (records.some((r) => r.outcome === 'delivered')) {
      order.notification = 'delivered';
      return;
    }
    const gap = retryGapMs(attempt, this.settings.timeScale);
    if (gap === undefined) {
      order.notification = 'abandoned';
      return;
    }
    // Gaps run from the start of a send, but a send that is still waiting for its reply is not overtaken.
    const waitMs = Math.max(0, startedAt + gap - Date.now());
    const nextAttemptAt = new Date(this.clock.now() + waitMs).toISOString();
    for (const record of records) record.nextAttemptAt = nextAttemptAt;
    this.timers.after(waitMs, () => void this.attempt(order, attempt + 1));
  }

  private async judge(
    record: Omit<NotificationAttempt, 'outcome'>,
    result: SendResult,
  ): Promise<NotificationAttempt> {
    const out: NotificationAttempt = { ...record, outcome: 'failed' };
    if (result.status !== undefined) out.status = result.status;
    if (result.error !== undefined) out.error = result.error;
    if (result.body !== undefined) out.reply = result.body.slice(0, REPLY_EXCERPT_CHARS);
    if (result.status === 200 && result.body !== undefined) {
      try {
        const reply = await parseXml(result.body);
        if (reply.return_code === 'SUCCESS') out.outcome = 'delivered';
      } catch {
        out.error = 'reply is not a WeChat Pay XML document';
      }
    }
    return out;
  }

  private send(url: string, body: string): Promise<SendResult> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve({ error: 'simulator stopped' });
      const request = url.startsWith('https:') ? httpsRequest : httpRequest;
      let settled = false;
      let cancelTimeout: () => void = () => undefined;
      const finish = (result: SendResult) => {
        if (settled) return;
        settled = true;
        cancelTimeout();
        this.inFlight.delete(req);
        resolve(result);
      };
      const req = request(url, {
        method: 'POST',
        agent: false,
        headers: {
          'Content-Type': 'text/xml; charset=utf-8',
          'Content-Length': Buffer.byteLength(body),
          Connection: 'close',
        },
      });
      this.inFlight.add(req);
      cancelTimeout = this.timers.after(this.settings.replyTimeoutMs, () => {
        finish({ error: `no reply within ${this.settings.replyTimeoutMs} ms` });
        req.destroy();
      });
      req.on('error', (err: Error) => finish({ error: err.message || 'request failed' }));
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_REPLY_BYTES) chunks.push(chunk);
        });
        res.on('error', (err: Error) => finish({ status: res.statusCode, error: err.message }));
        res.on('end', () => {
          finish({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.end(body);
    });
  }
}
