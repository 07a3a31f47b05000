import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createNonce, sign, parseXml } from 'nestjs-wechat-pay-v2/protocol';
import type { SimulatorClock } from './clock';
import type { FaultInjector } from './faults';
import { paymentAmountFields } from './pay-api';
import type { SimulatorRealism } from './realism';
import type { SimulatedOrder, SimulatedRefund } from './store';
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

/** What every send records, for payment and refund notifications alike. */
export interface SendRecord {
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

/** One send of one payment notification (or one copy of it, under the copies fault). */
export interface NotificationAttempt extends SendRecord {
  outTradeNo: string;
  mchId: string;
  transactionId: string;
}

/** One send of one refund notification. */
export interface RefundNotificationAttempt extends SendRecord {
  outRefundNo: string;
  refundId: string;
  outTradeNo: string;
  mchId: string;
  /** The status the notification reports: SUCCESS, REFUNDCLOSE or CHANGE. */
  refundStatus: string;
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

interface AttemptEntry<R> {
  readonly order: SimulatedOrder;
  readonly record: R;
}

type Identity<R extends SendRecord> = Omit<R, keyof SendRecord>;

/** One notification to deliver, whichever kind: where, what, which faults, and what to record. */
interface Delivery<R extends SendRecord> {
  readonly order: SimulatedOrder;
  readonly url: string;
  readonly identity: Identity<R>;
  body(): string;
  drop(): boolean;
  delayMs(): number;
  copies(): number;
  settle(status: 'delivered' | 'abandoned'): void;
  readonly log: Array<AttemptEntry<R>>;
}

interface SendResult {
  status?: number;
  body?: string;
  error?: string;
}

/**
 * Delivers payment notifications to each order's notify_url, and refund notifications to each
 * refund's, and retries both on the §6.4 schedule.
 */
export class Notifier {
  /** Every send, oldest first; entries of orders the store has forgotten are dropped on read. */
  private attempts: Array<AttemptEntry<NotificationAttempt>> = [];
  private refundAttempts: Array<AttemptEntry<RefundNotificationAttempt>> = [];
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
    const delivery: Delivery<NotificationAttempt> = {
      order,
      url: order.notifyUrl,
      identity: {
        outTradeNo: order.outTradeNo,
        mchId: order.mchId,
        transactionId: order.transactionId ?? '',
      },
      body: () => this.buildBody(order),
      drop: () => this.faults.takeNotificationDrop(),
      delayMs: () => this.faults.notificationDelayMs(),
      copies: () => this.faults.notificationCopies(),
      settle: (status) => {
        order.notification = status;
      },
      log: this.attempts,
    };
    this.timers.after(0, () => void this.attempt(delivery, 1));
  }

  /**
   * Starts delivering a refund notification whose body is fixed (every send is the same bytes),
   * to the refund's notify_url.
   */
  startRefund(refund: SimulatedRefund, body: string): void {
    refund.notification = 'pending';
    const delivery: Delivery<RefundNotificationAttempt> = {
      order: refund.order,
      url: refund.notifyUrl,
      identity: {
        outRefundNo: refund.outRefundNo,
        refundId: refund.refundId,
        outTradeNo: refund.order.outTradeNo,
        mchId: refund.order.mchId,
        refundStatus: refund.status,
      },
      body: () => body,
      drop: () => this.faults.takeRefundNotificationDrop(),
      delayMs: () => this.faults.refundNotificationDelayMs(),
      copies: () => this.faults.refundNotificationCopies(),
      settle: (status) => {
        refund.notification = status;
      },
      log: this.refundAttempts,
    };
    this.timers.after(0, () => void this.attempt(delivery, 1));
  }

  records(): NotificationAttempt[] {
    if (this.attempts.some((entry) => !entry.order.retained)) {
      this.attempts = this.attempts.filter((entry) => entry.order.retained);
    }
    return this.attempts.map((entry) => ({ ...entry.record }));
  }

  refundRecords(): RefundNotificationAttempt[] {
    if (this.refundAttempts.some((entry) => !entry.order.retained)) {
      this.refundAttempts = this.refundAttempts.filter((entry) => entry.order.retained);
    }
    return this.refundAttempts.map((entry) => ({ ...entry.record }));
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

  private async attempt<R extends SendRecord>(
    delivery: Delivery<R>,
    attempt: number,
  ): Promise<void> {
    const { order } = delivery;
    // The store forgot the order (its count limit): nothing is left to deliver.
    if (!order.retained) return;
    const startedAt = Date.now();
    let records: SendRecord[];
    if (delivery.drop()) {
      records = [{ attempt, copy: 1, sentAt: this.clock.date().toISOString(), outcome: 'dropped' }];
    } else {
      const delayMs = delivery.delayMs();
      if (delayMs > 0) await this.timers.sleep(delayMs);
      if (this.stopped) return;
      const body = delivery.body();
      const sentAt = this.clock.date().toISOString();
      const copies = Array.from({ length: delivery.copies() }, (_, i) => i + 1);
      records = await Promise.all(
        copies.map(async (copy) =>
          this.judge({ attempt, copy, sentAt }, await this.send(delivery.url, body)),
        ),
      );
    }
    if (this.stopped || !order.retained) return;
    // The identity first, so a record reads like the earlier flat one: order, then the send.
    const entries = records.map((record) => ({ ...delivery.identity, ...record }) as R);
    for (const record of entries) delivery.log.push({ order, record });
    if (records.some((r) => r.outcome === 'delivered')) {
      delivery.settle('delivered');
      return;
    }
    const gap = retryGapMs(attempt, this.settings.timeScale);
    if (gap === undefined) {
      delivery.settle('abandoned');
      return;
    }
    // Gaps run from the start of a send, but a send that is still waiting for its reply is not overtaken.
    const waitMs = Math.max(0, startedAt + gap - Date.now());
    const nextAttemptAt = new Date(this.clock.now() + waitMs).toISOString();
    for (const record of entries) record.nextAttemptAt = nextAttemptAt;
    this.timers.after(waitMs, () => void this.attempt(delivery, attempt + 1));
  }

  private async judge(
    record: Omit<SendRecord, 'outcome'>,
    result: SendResult,
  ): Promise<SendRecord> {
    const out: SendRecord = { ...record, outcome: 'failed' };
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
