import type { SignType } from 'nestjs-wechat-pay-v2/protocol';
import type { SimulatorClock } from './clock';
import { newLoginCode, newPrepayId } from './ids';

export type SimulatedTradeState = 'NOTPAY' | 'SUCCESS' | 'CLOSED' | 'PAYERROR';

export type NotificationStatus = 'none' | 'pending' | 'delivered' | 'abandoned';

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
  state: SimulatedTradeState;
  prepay: PrepayRecord;
  closedAt?: number;
  closedBy?: 'closeorder' | 'expiry';
  transactionId?: string;
  timeEnd?: string;
  bankType?: string;
  cashFee?: number;
  notification: NotificationStatus;
}

export type NewOrder = Omit<
  SimulatedOrder,
  'state' | 'prepay' | 'notification' | 'createdAt' | 'expiresAt'
> & { expiresAt?: number };

interface LoginCodeRecord {
  readonly appId: string;
  readonly openid: string;
  readonly createdAt: number;
  used: boolean;
}

export type RedeemResult = { ok: true; openid: string } | { ok: false; reason: 'invalid' | 'used' };

export interface StoreSettings {
  prepayLifeMs: number;
  defaultOrderExpiryMs: number;
  loginCodeLifeMs: number;
}

/** Orders, prepay ids and login codes, in memory. Expiry is applied lazily on every read. */
export class SimulatorStore {
  private readonly orders = new Map<string, SimulatedOrder>();
  private readonly prepays = new Map<string, { order: SimulatedOrder; prepay: PrepayRecord }>();
  private readonly transactions = new Map<string, SimulatedOrder>();
  private readonly codes = new Map<string, LoginCodeRecord>();

  constructor(
    private readonly clock: SimulatorClock,
    private readonly settings: StoreSettings,
  ) {}

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
    const order: SimulatedOrder = {
      ...input,
      createdAt: now,
      expiresAt: input.expiresAt ?? now + this.settings.defaultOrderExpiryMs,
      state: 'NOTPAY',
      prepay: this.mintPrepay(now),
      notification: 'none',
    };
    this.orders.set(SimulatorStore.key(order.mchId, order.outTradeNo), order);
    this.prepays.set(order.prepay.id, { order, prepay: order.prepay });
    return order;
  }

  /** The order's prepay id while it is live, else a new one (the documented way to renew it after 2 h). */
  livePrepay(order: SimulatedOrder): PrepayRecord {
    const now = this.clock.now();
    if (now < order.prepay.expiresAt) return order.prepay;
    order.prepay = this.mintPrepay(now);
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

  issueLoginCode(appId: string, openid: string): string {
    const now = this.clock.now();
    for (const [code, record] of this.codes) {
      if (now >= record.createdAt + this.settings.loginCodeLifeMs) this.codes.delete(code);
    }
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
  notification: NotificationStatus;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function orderView(order: SimulatedOrder): SimulatedOrderView {
  return {
    appId: order.appId,
    mchId: order.mchId,
    outTradeNo: order.outTradeNo,
    tradeState: order.state,
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
    notification: order.notification,
  };
}
