import type { SimulatedOrderView } from 'wechat-pay-v2-simulator';
import { call, HttpTally, outcomeOf, sleep, type Answer } from './http';

/**
 * Virtual users: each logs in the way the mini-program does (the simulator plays wx.login, the shop
 * exchanges the code), then places orders at the pace the run sets and does with each what users
 * do: pays most through the simulator's request-payment (the WeChat client checking paySign),
 * leaves some unpaid, cancels some, and polls its order until the shop says PAID. When checkout
 * fails the user retries paying the order, as the mini-program offers, finding the order number
 * in its order list when the failed answer did not carry it.
 */
export type Fate = 'pay' | 'unpaid' | 'cancel';

export interface PaymentRecord {
  /** Client clock just before request-payment: the payment happens inside that call. */
  sentAt: number;
  okAt: number;
  /** WeChat's view right after paying, kept because the simulator may later evict the order. */
  transactionId?: string;
  totalFee?: number;
}

export interface OrderRecord {
  orderNo: string;
  user: string;
  placedAt: number;
  fate: Fate;
  /** How POST /api/orders answered (`201`, `503`, `balancer 502`, `no answer (...)`). */
  createOutcome: string;
  /** The failed checkout's answer had no order number: the user found it in GET /api/orders. */
  foundByListing: boolean;
  /** POST /api/orders/:orderNo/pay calls after a checkout without pay parameters. */
  payRetries: number;
  payment?: PaymentRecord;
  /** requestPayment:fail reason when paying was refused. */
  paymentRefused?: string;
  /** When GET /api/orders/:orderNo first said PAID. */
  sawPaidAt?: number;
  cancelOutcomes: string[];
  /** Why the user stopped trying to pay. */
  gaveUp?: string;
}

export interface Product {
  id: number;
  priceFen: number;
}

interface Checkout {
  orderNo?: string;
  status?: string;
  payParams?: Record<string, string>;
}

interface OrderPage {
  items?: { orderNo: string; status: string; createdAt: string }[];
}

/** Releases order permits evenly over the load; a backlog (the shop slower than the pace) is capped. */
export class Pacer {
  private issued = 0;
  skipped = 0;

  constructor(
    private readonly total: number,
    private readonly startAt: number,
    private readonly endAt: number,
    private readonly maxBacklog: number,
  ) {}

  async take(): Promise<boolean> {
    const span = this.endAt - this.startAt;
    for (;;) {
      const now = Date.now();
      if (this.issued >= this.total || now >= this.endAt) return false;
      const due = Math.min(this.total, Math.floor(((now - this.startAt) / span) * this.total) + 1);
      if (due - this.issued > this.maxBacklog) {
        this.skipped += due - this.issued - this.maxBacklog;
        this.issued = due - this.maxBacklog;
      }
      if (this.issued < due) {
        this.issued++;
        return true;
      }
      const nextDueAt = this.startAt + (due / this.total) * span;
      await sleep(Math.max(5, nextDueAt - now));
    }
  }
}

export interface LoadContext {
  shopUrl: string;
  simulatorUrl: string;
  tally: HttpTally;
  records: Map<string, OrderRecord>;
  pacer: Pacer;
  products: Product[];
  /** Retries (paying after a failed checkout, logging in) stop here. */
  giveUpAt: number;
  /** True once for the payment whose notification the run copies. */
  claimCopies: () => boolean;
  copies: (view: SimulatedOrderView) => Promise<void>;
  /** Failed checkouts whose order the user never found. */
  untracked: { count: number };
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];

function fate(): Fate {
  const r = Math.random();
  return r < 0.8 ? 'pay' : r < 0.9 ? 'unpaid' : 'cancel';
}

export class VirtualUser {
  private token?: string;
  private openid?: string;
  private readonly known = new Set<string>();

  constructor(
    readonly name: string,
    private readonly ip: string,
    private readonly ctx: LoadContext,
  ) {}

  private async shop<T>(route: string, method: string, path: string, json?: unknown) {
    const headers: Record<string, string> = { 'x-forwarded-for': this.ip };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const answer = await call<T>(`${this.ctx.shopUrl}${path}`, { method, json, headers });
    this.ctx.tally.record(route, answer);
    if (answer.status === 401 && route !== 'POST /api/auth/login') this.token = undefined;
    return answer;
  }

  private async simulator<T>(route: string, method: string, path: string, json?: unknown) {
    const answer = await call<T>(`${this.ctx.simulatorUrl}${path}`, { method, json });
    this.ctx.tally.record(`simulator ${route}`, answer);
    return answer;
  }

  private async pause(answer: Answer, fallbackMs: number): Promise<void> {
    await sleep(answer.retryAfterMs ?? fallbackMs);
  }

  /** The token for `/api/...` calls; undefined once retries would run past the give-up time. */
  async login(): Promise<string | undefined> {
    let delay = 500;
    while (!this.token && Date.now() < this.ctx.giveUpAt) {
      const grant = await this.simulator<{ code: string; openid: string }>(
        'POST /__simulator/login',
        'POST',
        '/__simulator/login',
        { user: this.name },
      );
      if (grant.status === 200 && grant.body) {
        const answer = await this.shop<{ token?: string }>(
          'POST /api/auth/login',
          'POST',
          '/api/auth/login',
          { code: grant.body.code },
        );
        if (answer.status === 200 && answer.body?.token) {
          this.token = answer.body.token;
          this.openid = grant.body.openid;
          break;
        }
        await this.pause(answer, delay);
      } else {
        await sleep(delay);
      }
      delay = Math.min(delay * 2, 5000);
    }
    return this.token;
  }

  async run(): Promise<void> {
    while (await this.ctx.pacer.take()) {
      if (!(await this.login())) return;
      await this.order();
      if (Math.random() < 0.1)
        await this.shop('GET /api/orders', 'GET', '/api/orders?page=1&pageSize=10');
      await sleep(100 + Math.random() * 400);
    }
  }

  private async order(): Promise<void> {
    const lines = Array.from({ length: 1 + Math.floor(Math.random() * 2) }, () => ({
      productId: pick(this.ctx.products).id,
      quantity: 1 + Math.floor(Math.random() * 3),
    }));
    const placedAt = Date.now();
    const created = await this.shop<Checkout>('POST /api/orders', 'POST', '/api/orders', {
      items: lines,
    });
    if (created.status === 429) {
      // Refused before anything was written: the user waits as told and places the next order.
      await this.pause(created, 1000);
      return;
    }
    if (created.status >= 400 && created.status < 500) return;
    let orderNo = created.body?.orderNo;
    let foundByListing = false;
    if (!orderNo) {
      // No order number in the answer (an error, or no answer at all): the order may exist anyway.
      orderNo = await this.findNewOrder(placedAt);
      foundByListing = orderNo !== undefined;
    }
    if (!orderNo) {
      if (created.status !== 201 && created.status !== 200) this.ctx.untracked.count++;
      return;
    }
    this.known.add(orderNo);
    const record: OrderRecord = {
      orderNo,
      user: this.name,
      placedAt,
      fate: fate(),
      createOutcome: outcomeOf(created),
      foundByListing,
      payRetries: 0,
      cancelOutcomes: [],
    };
    this.ctx.records.set(orderNo, record);
    let payParams = created.body?.payParams;

    if (record.fate === 'pay') {
      payParams ??= await this.retryPay(record);
      if (payParams) await this.pay(record, payParams);
      return;
    }
    // Unpaid and cancelled orders: the user opens the payment sheet and closes it.
    if (payParams) await this.requestPayment(payParams, 'cancel');
    if (record.fate === 'cancel') await this.cancel(record);
  }

  private async findNewOrder(since: number): Promise<string | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const page = await this.shop<OrderPage>(
        'GET /api/orders',
        'GET',
        '/api/orders?page=1&pageSize=5',
      );
      if (page.status === 200) {
        const found = page.body?.items?.find(
          (o) =>
            o.status === 'UNPAID' &&
            !this.known.has(o.orderNo) &&
            Date.parse(o.createdAt) >= since - 2000,
        );
        return found?.orderNo;
      }
      await sleep(1000);
    }
    return undefined;
  }

  private async retryPay(record: OrderRecord): Promise<Record<string, string> | undefined> {
    let delay = 1000;
    while (Date.now() < this.ctx.giveUpAt) {
      await sleep(delay);
      if (!(await this.login())) break;
      record.payRetries++;
      const answer = await this.shop<Checkout & { message?: string }>(
        'POST /api/orders/:orderNo/pay',
        'POST',
        `/api/orders/${record.orderNo}/pay`,
      );
      if (answer.status === 200 && answer.body?.payParams) return answer.body.payParams;
      if (answer.status === 409 || answer.status === 404) {
        record.gaveUp = `pay answered ${answer.status}`;
        return undefined;
      }
      if (answer.retryAfterMs) delay = answer.retryAfterMs;
      else delay = Math.min(delay * 2, 8000);
    }
    record.gaveUp ??= 'retries ran out';
    return undefined;
  }

  private requestPayment(payParams: Record<string, string>, outcome: 'success' | 'cancel') {
    return this.simulator<{ errMsg?: string }>(
      'POST /__simulator/request-payment',
      'POST',
      '/__simulator/request-payment',
      { ...payParams, openid: this.openid, outcome },
    );
  }

  private async pay(record: OrderRecord, payParams: Record<string, string>): Promise<void> {
    const sentAt = Date.now();
    const answer = await this.requestPayment(payParams, 'success');
    const errMsg = answer.body?.errMsg;
    if (errMsg !== 'requestPayment:ok') {
      // No answer at all leaves it open whether the payment happened: the simulator's order list
      // settles that in the audit.
      record.paymentRefused = errMsg ?? outcomeOf(answer);
      return;
    }
    const payment: PaymentRecord = { sentAt, okAt: Date.now() };
    record.payment = payment;
    const view = await this.simulator<SimulatedOrderView>(
      'GET /__simulator/orders/:outTradeNo',
      'GET',
      `/__simulator/orders/${record.orderNo}`,
    );
    if (view.status === 200 && view.body) {
      payment.transactionId = view.body.transactionId;
      payment.totalFee = view.body.totalFee;
      if (this.ctx.claimCopies()) await this.ctx.copies(view.body);
    }
    for (let poll = 0; poll < 10; poll++) {
      await sleep(1000);
      const order = await this.shop<{ status?: string }>(
        'GET /api/orders/:orderNo',
        'GET',
        `/api/orders/${record.orderNo}`,
      );
      if (order.body?.status === 'PAID') {
        record.sawPaidAt = Date.now();
        return;
      }
    }
  }

  private async cancel(record: OrderRecord): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const answer = await this.shop(
        'POST /api/orders/:orderNo/cancel',
        'POST',
        `/api/orders/${record.orderNo}/cancel`,
      );
      record.cancelOutcomes.push(outcomeOf(answer));
      if (answer.status !== 0 && answer.status < 500) return;
      // The user taps cancel once more a little later, as people do when an app says "try again".
      await sleep(3000);
    }
  }
}

/** A user of its own whose token probes each instance directly (database recovery times). */
export async function loginProbeUser(ctx: LoadContext): Promise<string | undefined> {
  return new VirtualUser('soak-probe', '10.255.255.254', ctx).login();
}
