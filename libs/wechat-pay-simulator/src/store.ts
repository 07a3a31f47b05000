import { formatBeijingTime, type SignType } from 'nestjs-wechat-pay-v2/protocol';
import type { SimulatorClock } from './clock';
import { newLoginCode, newPrepayId } from './ids';

/** The trade state orderquery reports: `REFUND` once a paid order has a refund. */
export type SimulatedTradeState = 'NOTPAY' | 'SUCCESS' | 'REFUND' | 'CLOSED' | 'PAYERROR';

/** The payment state the simulator keeps; a refund does not change it. */
export type PaymentState = Exclude<SimulatedTradeState, 'REFUND'>;

/** A refund's status as refundquery reports it (§9.2). */
export type RefundStatus = 'PROCESSING' | 'SUCCESS' | 'REFUNDCLOSE' | 'CHANGE';

/** What a refund becomes instead of SUCCESS (a refundOutcomes fault); PROCESSING means it stays so. */
export type RefundOutcome = RefundStatus;

export type NotificationStatus = 'none' | 'pending' | 'delivered' | 'abandoned';

/** A coupon used on a payment: it pays `fee` fen of the order, the user pays the rest in cash. */
export interface CouponUse {
  readonly fee: number;
  /** `CASH` (a pre-funded coupon) or `NO_CASH` (not pre-funded: lowers settlement_total_fee too). */
  readonly type: 'CASH' | 'NO_CASH';
  readonly id: string;
}

export interface PrepayRecord {
  readonly id: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** One order as the simulator keeps it in memory. Times are simulator-clock milliseconds. */
export interface SimulatedOrder {
  readonly appId: string;
  readonly mchId: string;
  readonly outTradeNo: string;
  /** The first unifiedorder's fields, kept for the re-entry comparison. */
  readonly params: Readonly<Record<string, string>>;
  readonly totalFee: number;
  readonly body: string;
  readonly attach: string;
  readonly deviceInfo: string;
  readonly openid: string;
  readonly tradeType: string;
  readonly feeType: string;
  readonly notifyUrl: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** The algorithm of the latest unifiedorder: paySign and the notification use it. */
  signType: SignType;
  /** The `nonce_str` of the latest unifiedorder: the notification echoes it. */
  requestNonce: string;
  state: PaymentState;
  prepay: PrepayRecord;
  closedAt?: number;
  closedBy?: 'closeorder' | 'expiry';
  transactionId?: string;
  paidAt?: number;
  timeEnd?: string;
  bankType?: string;
  cashFee?: number;
  coupon?: CouponUse;
  notification: NotificationStatus;
  /** Every prepay id minted for the order, so forgetting the order forgets them all. */
  readonly prepayIds: string[];
  /** The order's refunds, oldest first; they are kept and forgotten with the order. */
  readonly refunds: SimulatedRefund[];
  /** False once the store has forgotten the order: pending work for it stops. */
  retained: boolean;
}

export type NewOrder = Omit<
  SimulatedOrder,
  | 'state'
  | 'prepay'
  | 'notification'
  | 'createdAt'
  | 'expiresAt'
  | 'prepayIds'
  | 'refunds'
  | 'retained'
> & { expiresAt?: number };

/** One refund of a paid order. Times are simulator-clock milliseconds. */
export interface SimulatedRefund {
  readonly order: SimulatedOrder;
  /** 29 digits, WeChat's refund id. */
  readonly refundId: string;
  readonly outRefundNo: string;
  /** The request's total_fee (equal to the order's) and refund_fee. */
  readonly totalFee: number;
  readonly refundFee: number;
  /** The part of refund_fee taken back from the order's coupon (0 without one). */
  readonly couponRefundFee: number;
  /** refund_fee minus the part of a NO_CASH coupon: what WeChat settles. */
  readonly settlementRefundFee: number;
  /** refund_fee minus the coupon part: what goes back to the payer. */
  readonly cashRefundFee: number;
  readonly refundDesc: string;
  /** REFUND_SOURCE_UNSETTLED_FUNDS (default) or REFUND_SOURCE_RECHARGE_FUNDS. */
  readonly refundAccount: string;
  /** Where the refund notification goes: the request's notify_url, the merchant's default, or ''. */
  readonly notifyUrl: string;
  /** The account the money goes back to, e.g. `支付用户零钱`. */
  readonly recvAccount: string;
  readonly channel: string;
  /** The algorithm of the refund request: its answer was signed with it. */
  readonly signType: SignType;
  readonly createdAt: number;
  status: RefundStatus;
  /** When it reached SUCCESS, REFUNDCLOSE or CHANGE. */
  endedAt?: number;
  notification: NotificationStatus;
}

interface LoginCodeRecord {
  readonly appId: string;
  readonly openid: string;
  readonly createdAt: number;
  used: boolean;
}

export type RedeemResult = { ok: true; openid: string } | { ok: false; reason: 'invalid' | 'used' };

/** How long and how many finished orders the simulator keeps; see RETENTION_DEFAULTS. */
export interface RetentionLimits {
  /** An order that closed unpaid (closeorder or expiry) is forgotten this long after it closed. */
  closedOrderMs: number;
  /**
   * A paid order is forgotten this long after it was paid, and never while its notification is
   * still being delivered.
   */
  paidOrderMs: number;
  /**
   * At most this many orders in memory. Past it the oldest finished orders go first, then the
   * oldest of all (a flood of orders that never finish must not exhaust memory either).
   */
  maxOrders: number;
  /**
   * At most this many bill rows (a payment or a refund each) across all days; past it the oldest
   * whole days are forgotten. Days older than three months always go (no longer downloadable).
   */
  maxBillRows: number;
}

export interface StoreSettings {
  prepayLifeMs: number;
  defaultOrderExpiryMs: number;
  loginCodeLifeMs: number;
  retention: RetentionLimits;
}

/** Age limits are checked at most this often (simulator clock), when orders are created. */
const SWEEP_INTERVAL_MS = 1000;

/**
 * Orders, prepay ids, transactions and login codes, in memory. Expiry is applied lazily on every
 * read; finished orders are forgotten after the retention limits, together with everything that
 * points at them, so the simulator can run for days.
 */
export class SimulatorStore {
  private readonly orders = new Map<string, SimulatedOrder>();
  private readonly prepays = new Map<string, { order: SimulatedOrder; prepay: PrepayRecord }>();
  private readonly transactions = new Map<string, SimulatedOrder>();
  private readonly refundsById = new Map<string, SimulatedRefund>();
  private readonly refundsByNo = new Map<string, SimulatedRefund>();
  private readonly codes = new Map<string, LoginCodeRecord>();
  private lastSweepAt = Number.NEGATIVE_INFINITY;
  private evicted = 0;

  constructor(
    private readonly clock: SimulatorClock,
    private readonly settings: StoreSettings,
  ) {}

  /** How many orders are held, and how many have been forgotten since the start. */
  stats(): {
    orders: number;
    evictedOrders: number;
    prepayIds: number;
    loginCodes: number;
    refunds: number;
  } {
    return {
      orders: this.orders.size,
      evictedOrders: this.evicted,
      prepayIds: this.prepays.size,
      loginCodes: this.codes.size,
      refunds: this.refundsById.size,
    };
  }

  /**
   * True when the order has ended and the age limit of its end has passed. A paid order's end is
   * its payment or its latest refund's end, whichever is later, so refundquery keeps finding a
   * refund for as long as a payment is kept.
   */
  private expiredByAge(order: SimulatedOrder, now: number): boolean {
    const { closedOrderMs, paidOrderMs } = this.settings.retention;
    if (order.state === 'CLOSED') return now - (order.closedAt as number) >= closedOrderMs;
    if (!this.isFinished(order)) return false;
    const ended = order.refunds.reduce(
      (latest, refund) => Math.max(latest, refund.endedAt ?? refund.createdAt),
      order.paidAt as number,
    );
    return now - ended >= paidOrderMs;
  }

  /** Closed, or paid with nothing left to deliver and no refund still in progress. */
  private isFinished(order: SimulatedOrder): boolean {
    if (order.state === 'CLOSED') return true;
    return (
      order.state === 'SUCCESS' &&
      order.notification !== 'pending' &&
      order.refunds.every(
        (refund) => refund.status !== 'PROCESSING' && refund.notification !== 'pending',
      )
    );
  }

  private forget(order: SimulatedOrder): void {
    this.orders.delete(SimulatorStore.key(order.mchId, order.outTradeNo));
    for (const id of order.prepayIds) this.prepays.delete(id);
    if (order.transactionId !== undefined) this.transactions.delete(order.transactionId);
    for (const refund of order.refunds) {
      this.refundsById.delete(refund.refundId);
      this.refundsByNo.delete(SimulatorStore.key(order.mchId, refund.outRefundNo));
    }
    order.retained = false;
    this.evicted += 1;
  }

  /** Forgets orders past their age limit and login codes past their life. O(orders). */
  sweep(): void {
    const now = this.clock.now();
    this.lastSweepAt = now;
    for (const order of this.orders.values()) {
      if (this.expiredByAge(this.settle(order), now)) this.forget(order);
    }
    this.pruneLoginCodes(now);
  }

  /**
   * Keeps the count under maxOrders before one more order is added. It frees a hundredth of the
   * limit at a time, so an order store at its limit does not scan every order on every create.
   */
  private makeRoom(): void {
    const { maxOrders } = this.settings.retention;
    if (this.orders.size < maxOrders) return;
    const target = maxOrders - Math.max(1, Math.ceil(maxOrders / 100));
    for (const order of this.orders.values()) {
      if (this.orders.size <= target) return;
      if (this.isFinished(this.settle(order))) this.forget(order);
    }
    for (const order of this.orders.values()) {
      if (this.orders.size <= target) return;
      this.forget(order);
    }
  }

  private static key(mchId: string, outTradeNo: string): string {
    return `${mchId}\n${outTradeNo}`;
  }

  /** An unpaid order past its expiry is closed the moment anyone looks at it. */
  private settle(order: SimulatedOrder): SimulatedOrder {
    if (
      (order.state === 'NOTPAY' || order.state === 'PAYERROR') &&
      this.clock.now() >= order.expiresAt
    ) {
      order.state = 'CLOSED';
      order.closedAt = order.expiresAt;
      order.closedBy = 'expiry';
    }
    return order;
  }

  findOrder(mchId: string, outTradeNo: string): SimulatedOrder | undefined {
    const order = this.orders.get(SimulatorStore.key(mchId, outTradeNo));
    return order && this.settle(order);
  }

  findByTransactionId(mchId: string, transactionId: string): SimulatedOrder | undefined {
    const order = this.transactions.get(transactionId);
    return order && order.mchId === mchId ? this.settle(order) : undefined;
  }

  findByPrepayId(prepayId: string): { order: SimulatedOrder; prepay: PrepayRecord } | undefined {
    const found = this.prepays.get(prepayId);
    if (found) this.settle(found.order);
    return found;
  }

  /** Orders with this number under any merchant number, oldest first. */
  findByOutTradeNo(outTradeNo: string): SimulatedOrder[] {
    return this.listOrders().filter((order) => order.outTradeNo === outTradeNo);
  }

  listOrders(): SimulatedOrder[] {
    return [...this.orders.values()].map((order) => this.settle(order));
  }

  createOrder(input: NewOrder): SimulatedOrder {
    const now = this.clock.now();
    if (now - this.lastSweepAt >= SWEEP_INTERVAL_MS) this.sweep();
    this.makeRoom();
    const prepay = this.mintPrepay(now);
    const order: SimulatedOrder = {
      ...input,
      createdAt: now,
      expiresAt: input.expiresAt ?? now + this.settings.defaultOrderExpiryMs,
      state: 'NOTPAY',
      prepay,
      prepayIds: [prepay.id],
      refunds: [],
      notification: 'none',
      retained: true,
    };
    this.orders.set(SimulatorStore.key(order.mchId, order.outTradeNo), order);
    this.prepays.set(prepay.id, { order, prepay });
    return order;
  }

  /** The order's prepay id while it is live, else a new one (the documented way to renew it after 2 h). */
  livePrepay(order: SimulatedOrder): PrepayRecord {
    const now = this.clock.now();
    if (now < order.prepay.expiresAt) return order.prepay;
    order.prepay = this.mintPrepay(now);
    order.prepayIds.push(order.prepay.id);
    this.prepays.set(order.prepay.id, { order, prepay: order.prepay });
    return order.prepay;
  }

  private mintPrepay(now: number): PrepayRecord {
    return {
      id: newPrepayId(new Date(now)),
      createdAt: now,
      expiresAt: now + this.settings.prepayLifeMs,
    };
  }

  recordTransaction(order: SimulatedOrder, transactionId: string): void {
    order.transactionId = transactionId;
    this.transactions.set(transactionId, order);
  }

  addRefund(refund: SimulatedRefund): void {
    refund.order.refunds.push(refund);
    this.refundsById.set(refund.refundId, refund);
    this.refundsByNo.set(SimulatorStore.key(refund.order.mchId, refund.outRefundNo), refund);
  }

  findRefundById(mchId: string, refundId: string): SimulatedRefund | undefined {
    const refund = this.refundsById.get(refundId);
    return refund && refund.order.mchId === mchId ? refund : undefined;
  }

  /** out_refund_no is unique per merchant number, like out_trade_no. */
  findRefundByNo(mchId: string, outRefundNo: string): SimulatedRefund | undefined {
    return this.refundsByNo.get(SimulatorStore.key(mchId, outRefundNo));
  }

  listRefunds(): SimulatedRefund[] {
    return [...this.refundsById.values()];
  }

  /** Codes are kept in the order they were issued, so the expired ones are at the front. */
  private pruneLoginCodes(now: number): void {
    for (const [code, record] of this.codes) {
      if (now < record.createdAt + this.settings.loginCodeLifeMs) return;
      this.codes.delete(code);
    }
  }

  issueLoginCode(appId: string, openid: string): string {
    const now = this.clock.now();
    this.pruneLoginCodes(now);
    const code = newLoginCode();
    this.codes.set(code, { appId, openid, createdAt: now, used: false });
    return code;
  }

  /** Spends a login code: unknown, foreign or expired codes are invalid; a spent one is "used". */
  redeemLoginCode(code: string, appId: string): RedeemResult {
    const record = this.codes.get(code);
    if (!record || record.appId !== appId) return { ok: false, reason: 'invalid' };
    if (this.clock.now() >= record.createdAt + this.settings.loginCodeLifeMs) {
      return { ok: false, reason: 'invalid' };
    }
    if (record.used) return { ok: false, reason: 'used' };
    record.used = true;
    return { ok: true, openid: record.openid };
  }
}

/** The JSON shape of an order on the control surface. Times are ISO strings of the simulator clock. */
export interface SimulatedOrderView {
  appId: string;
  mchId: string;
  outTradeNo: string;
  tradeState: SimulatedTradeState;
  totalFee: number;
  body: string;
  attach: string;
  openid: string;
  tradeType: string;
  signType: SignType;
  notifyUrl: string;
  prepayId: string;
  prepayExpiresAt: string;
  createdAt: string;
  expiresAt: string;
  closedAt?: string;
  closedBy?: 'closeorder' | 'expiry';
  transactionId?: string;
  timeEnd?: string;
  bankType?: string;
  cashFee?: number;
  coupon?: CouponUse;
  notification: NotificationStatus;
  /** refund_fee of the refunds that are not closed. */
  refundedFee: number;
  refundCount: number;
}

/** The JSON shape of a refund on the control surface. */
export interface SimulatedRefundView {
  mchId: string;
  outTradeNo: string;
  transactionId: string;
  refundId: string;
  outRefundNo: string;
  status: RefundStatus;
  totalFee: number;
  refundFee: number;
  settlementRefundFee: number;
  cashRefundFee: number;
  couponRefundFee: number;
  refundDesc: string;
  refundAccount: string;
  recvAccount: string;
  channel: string;
  notifyUrl: string;
  createdAt: string;
  endedAt?: string;
  /** `yyyy-MM-dd HH:mm:ss` Beijing time, once SUCCESS (refund_success_time_$n). */
  successTime?: string;
  notification: NotificationStatus;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** What orderquery calls the order: REFUND once it has a refund, its payment state before. */
export function tradeStateOf(order: SimulatedOrder): SimulatedTradeState {
  return order.state === 'SUCCESS' && order.refunds.length > 0 ? 'REFUND' : order.state;
}

/** The refund_fee of an order's refunds that still hold money (every status but REFUNDCLOSE). */
export function refundedFeeOf(order: SimulatedOrder): number {
  return order.refunds
    .filter((refund) => refund.status !== 'REFUNDCLOSE')
    .reduce((sum, refund) => sum + refund.refundFee, 0);
}

export function refundView(refund: SimulatedRefund): SimulatedRefundView {
  return {
    mchId: refund.order.mchId,
    outTradeNo: refund.order.outTradeNo,
    transactionId: refund.order.transactionId ?? '',
    refundId: refund.refundId,
    outRefundNo: refund.outRefundNo,
    status: refund.status,
    totalFee: refund.totalFee,
    refundFee: refund.refundFee,
    settlementRefundFee: refund.settlementRefundFee,
    cashRefundFee: refund.cashRefundFee,
    couponRefundFee: refund.couponRefundFee,
    refundDesc: refund.refundDesc,
    refundAccount: refund.refundAccount,
    recvAccount: refund.recvAccount,
    channel: refund.channel,
    notifyUrl: refund.notifyUrl,
    createdAt: iso(refund.createdAt),
    ...(refund.endedAt !== undefined && { endedAt: iso(refund.endedAt) }),
    ...(refund.status === 'SUCCESS' &&
      refund.endedAt !== undefined && { successTime: spacedTime(refund.endedAt) }),
    notification: refund.notification,
  };
}

/** Beijing `yyyy-MM-dd HH:mm:ss`, the form of refund and bill times. */
export function spacedTime(ms: number): string {
  return formatBeijingTime(new Date(ms)).replace(
    /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/,
    '$1-$2-$3 $4:$5:$6',
  );
}

export function orderView(order: SimulatedOrder): SimulatedOrderView {
  return {
    appId: order.appId,
    mchId: order.mchId,
    outTradeNo: order.outTradeNo,
    tradeState: tradeStateOf(order),
    totalFee: order.totalFee,
    body: order.body,
    attach: order.attach,
    openid: order.openid,
    tradeType: order.tradeType,
    signType: order.signType,
    notifyUrl: order.notifyUrl,
    prepayId: order.prepay.id,
    prepayExpiresAt: iso(order.prepay.expiresAt),
    createdAt: iso(order.createdAt),
    expiresAt: iso(order.expiresAt),
    ...(order.closedAt !== undefined && {
      closedAt: iso(order.closedAt),
      closedBy: order.closedBy,
    }),
    ...(order.transactionId !== undefined && {
      transactionId: order.transactionId,
      timeEnd: order.timeEnd,
      bankType: order.bankType,
      cashFee: order.cashFee,
    }),
    ...(order.coupon !== undefined && { coupon: { ...order.coupon } }),
    notification: order.notification,
    refundedFee: refundedFeeOf(order),
    refundCount: order.refunds.length,
  };
}
