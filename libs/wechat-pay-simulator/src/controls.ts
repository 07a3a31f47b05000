import {
  isSignType,
  sign,
  signaturesEqual,
  formatBeijingTime,
  parseBeijingTime,
} from 'nestjs-wechat-pay-v2/protocol';
import {
  BILL_TYPES,
  beijingDayStart,
  renderBill,
  type BillDay,
  type BillLedger,
  type BillType,
} from './bills';
import type { SimulatorClock } from './clock';
import type { FaultInjector, SimulatorFaults } from './faults';
import { deriveOpenid, newCouponId, newTransactionId, newUserId } from './ids';
import type { MerchantRegistry } from './merchants';
import type { NotificationAttempt, Notifier, RefundNotificationAttempt } from './notifier';
import type { SimulatorRealism } from './realism';
import type { FinalRefundStatus, RefundDesk } from './refunds';
import {
  orderView,
  refundView,
  type CouponUse,
  type PrepayRecord,
  type SimulatedOrder,
  type SimulatedOrderView,
  type SimulatedRefund,
  type SimulatedRefundView,
  type SimulatorStore,
} from './store';

/** A control call the simulator cannot act on (bad input from the test itself). */
export class SimulatorControlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulatorControlError';
  }
}

export interface LoginOptions {
  /** Log in as the user with this exact openid. */
  openid?: string;
  /** Log in as this named user: the openid is derived from it and the AppID, so it is stable. */
  user?: string;
  /** The mini program; defaults to the first merchant's AppID. */
  appid?: string;
}

export interface LoginGrant {
  /** What wx.login would give the mini program: single use, valid 5 minutes. */
  code: string;
  /** The openid jscode2session will return for this code. */
  openid: string;
}

export type PaymentOutcome = 'success' | 'cancel' | 'fail';

/** A coupon the user pays part of the order with. */
export interface CouponInput {
  /** Fen the coupon pays: at least 1 and less than total_fee (the user pays the rest in cash). */
  fee: number;
  /** `NO_CASH` (default; not pre-funded, so settlement_total_fee drops too) or `CASH`. */
  type?: 'CASH' | 'NO_CASH';
  /** coupon_id_0; default 10 random digits. */
  id?: string;
}

/** Exactly what a mini program passes to wx.requestPayment, plus who pays and how it ends. */
export interface RequestPaymentInput {
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: string;
  paySign: string;
  /** The paying user; must be the order's openid. */
  openid: string;
  /** Optional check that the prepay id belongs to this mini program. */
  appid?: string;
  /** `success` (default) pays; `cancel` leaves the order unpaid; `fail` marks it PAYERROR. */
  outcome?: PaymentOutcome;
  /** bank_type of a successful payment; default `OTHERS`. */
  bankType?: string;
  /** Pay part of the order with a coupon (needs the extensionFields realism item). */
  coupon?: CouponInput;
}

export interface RequestPaymentAnswer {
  /** `requestPayment:ok` or `requestPayment:fail <reason>`, as the mini-program callback sees it. */
  errMsg: string;
}

/** Why a user cannot pay with a prepay id right now. */
export type PaymentProblem = 'unknown-prepay' | 'paid' | 'closed' | 'expired' | 'other-user';

/** The reason the WeChat client puts after `requestPayment:fail ` for each problem. */
const PROBLEM_REASONS: Record<PaymentProblem, string> = {
  'unknown-prepay': 'prepay_id无效',
  paid: '该订单已支付',
  closed: '订单已关闭',
  expired: 'prepay_id已过期，请重新下单',
  'other-user': '当前用户不是下单用户',
};

/** What the simulator's cashier page sends when the user taps Pay or Cancel. */
export interface CashierPaymentInput {
  prepayId: string;
  /** The user at the cashier; must be the order's openid. */
  openid: string;
  outcome: 'pay' | 'cancel';
  /** Pay part of the order with a coupon, as for requestPayment. */
  coupon?: CouponInput;
}

export interface CashierAnswer extends RequestPaymentAnswer {
  /** Set when the payment was refused before the user could decide. */
  problem?: PaymentProblem;
}

/** The cashier page's view of a prepay id. */
export interface CashierCheckout {
  order: SimulatedOrderView;
  /** The prepay id asked about (the order may have a newer one). */
  prepayId: string;
  /** When this prepay id stops working (simulator clock, ISO). */
  prepayExpiresAt: string;
  /** Why the user at the cashier cannot pay it now, if that is so. */
  problem?: PaymentProblem;
}

export interface SimulatorStats {
  orders: number;
  /** Orders forgotten under the retention limits since the start. */
  evictedOrders: number;
  prepayIds: number;
  loginCodes: number;
  notificationSends: number;
  /** Refunds held (they are forgotten with their order). */
  refunds: number;
  refundNotificationSends: number;
  /** Bill rows held, over every day and merchant. */
  billRows: number;
}

/** Which bill the bill control renders. */
export interface BillQuery {
  /** Beijing calendar date, yyyyMMdd. */
  date: string;
  /** Default: the first merchant's. */
  mchId?: string;
  /** Default ALL. */
  billType?: BillType;
}

const FINAL_STATUSES: readonly FinalRefundStatus[] = ['SUCCESS', 'CHANGE', 'REFUNDCLOSE'];

const PAY_PARAM_NAMES = ['timeStamp', 'nonceStr', 'package', 'signType', 'paySign'] as const;

function typeName(value: unknown): string {
  if (value === null) return 'Null';
  if (Array.isArray(value)) return 'Array';
  const t = typeof value;
  return t.charAt(0).toUpperCase() + t.slice(1);
}

const failed = (reason: string): RequestPaymentAnswer => ({
  errMsg: `requestPayment:fail ${reason}`,
});

const refused = (problem: PaymentProblem): CashierAnswer => ({
  ...failed(PROBLEM_REASONS[problem]),
  problem,
});

/**
 * The test-only controls: what WeChat has no API for (a user logging in or paying), faults,
 * inspection and time. The HTTP endpoints under /__simulator/ map one to one onto these methods.
 */
export class SimulatorControls {
  constructor(
    private readonly merchants: MerchantRegistry,
    private readonly store: SimulatorStore,
    private readonly clock: SimulatorClock,
    private readonly faultInjector: FaultInjector,
    private readonly notifier: Notifier,
    private readonly realism: Readonly<SimulatorRealism>,
    private readonly desk: RefundDesk,
    private readonly ledger: BillLedger,
    private readonly feeRateBasisPoints: number,
  ) {}

  /** A coupon from a control call, checked, or undefined when none was given. */
  private couponOf(input: unknown): CouponUse | undefined {
    if (input === undefined) return undefined;
    if (!this.realism.extensionFields) {
      throw new SimulatorControlError('coupons need the extensionFields realism item');
    }
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw new SimulatorControlError('coupon must be an object { fee, type?, id? }');
    }
    const { fee, type = 'NO_CASH', id = newCouponId() } = input as Record<string, unknown>;
    if (!Number.isSafeInteger(fee) || (fee as number) < 1) {
      throw new SimulatorControlError('coupon.fee must be a positive integer of fen');
    }
    if (type !== 'CASH' && type !== 'NO_CASH') {
      throw new SimulatorControlError('coupon.type must be CASH or NO_CASH');
    }
    if (typeof id !== 'string' || !/^\d{1,20}$/.test(id)) {
      throw new SimulatorControlError('coupon.id must be 1-20 digits');
    }
    return { fee: fee as number, type, id };
  }

  /** What wx.login gives a user: a fresh code and the openid it will resolve to. */
  login(options: LoginOptions = {}): LoginGrant {
    const appid = options.appid ?? this.merchants.primary.appId;
    if (typeof appid !== 'string' || !this.merchants.byAppId(appid)) {
      throw new SimulatorControlError('appid is not the AppID of a configured merchant');
    }
    let openid: string;
    if (options.openid !== undefined) {
      if (typeof options.openid !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(options.openid)) {
        throw new SimulatorControlError('openid must be 1-128 letters, digits, _ or -');
      }
      openid = options.openid;
    } else {
      if (options.user !== undefined && (typeof options.user !== 'string' || options.user === '')) {
        throw new SimulatorControlError('user must be a non-empty string');
      }
      openid = deriveOpenid(appid, options.user ?? newUserId());
    }
    return { code: this.store.issueLoginCode(appid, openid), openid };
  }

  /**
   * Plays the WeChat client's part of wx.requestPayment: checks paySign the way the client does,
   * then lets the user pay, cancel or fail. A successful payment starts the notification.
   */
  requestPayment(input: RequestPaymentInput): RequestPaymentAnswer {
    const params = input as unknown as Record<string, unknown>;
    if (typeof params.openid !== 'string' || params.openid === '') {
      throw new SimulatorControlError('openid of the paying user is required');
    }
    const outcome = params.outcome ?? 'success';
    if (outcome !== 'success' && outcome !== 'cancel' && outcome !== 'fail') {
      throw new SimulatorControlError('outcome must be success, cancel or fail');
    }
    const bankType = params.bankType ?? 'OTHERS';
    if (typeof bankType !== 'string' || !/^[A-Z0-9_]{1,32}$/.test(bankType)) {
      throw new SimulatorControlError('bankType must be 1-32 upper-case letters, digits or _');
    }
    const coupon = this.couponOf(params.coupon);
    for (const name of PAY_PARAM_NAMES) {
      if (typeof params[name] !== 'string') {
        return failed(
          `parameter error: parameter.${name} should be String instead of ${typeName(params[name])};`,
        );
      }
    }
    const pay = input;
    if (!/^\d{1,10}$/.test(pay.timeStamp)) {
      return failed('parameter error: timeStamp must be Unix seconds as a string of digits');
    }
    if (!isSignType(pay.signType))
      return failed('parameter error: signType must be MD5 or HMAC-SHA256');
    const prepayId = /^prepay_id=(\S+)$/.exec(pay.package)?.[1];
    if (!prepayId) return failed('parameter error: package must be prepay_id=<prepay_id>');
    const found = this.store.findByPrepayId(prepayId);
    if (!found) return failed(PROBLEM_REASONS['unknown-prepay']);
    const { order } = found;
    if (params.appid !== undefined && params.appid !== order.appId)
      return failed('appid与prepay_id不匹配');
    if (pay.signType !== order.signType) return failed('signType与下单时的签名类型不一致');
    const merchant = this.merchants.bound(order.appId, order.mchId);
    const expected = sign(
      {
        appId: order.appId,
        nonceStr: pay.nonceStr,
        package: pay.package,
        signType: pay.signType,
        timeStamp: pay.timeStamp,
      },
      merchant?.apiKey ?? '',
      pay.signType,
    );
    if (!merchant || !signaturesEqual(expected, pay.paySign)) return failed('支付验证签名失败');
    const { errMsg } = this.complete(found, pay.openid, outcome, bankType, coupon);
    return { errMsg };
  }

  /**
   * The order behind a prepay id as the cashier page shows it, and why this user could not pay it
   * now, if that is so; undefined for an unknown prepay id.
   */
  checkout(prepayId: string, openid: string): CashierCheckout | undefined {
    const found = this.store.findByPrepayId(prepayId);
    if (!found) return undefined;
    const problem = this.paymentProblem(found.order, found.prepay, openid);
    return {
      order: orderView(found.order),
      prepayId: found.prepay.id,
      prepayExpiresAt: new Date(found.prepay.expiresAt).toISOString(),
      ...(problem && { problem }),
    };
  }

  /**
   * The cashier page's Pay and Cancel. A browser holds no paySign, so this trusts the caller to be
   * the user named by `openid`, the way WeChat's own payment sheet trusts the signed-in user; every
   * other rule of requestPayment applies (live, unpaid prepay id of that user's order).
   */
  payAtCashier(input: CashierPaymentInput): CashierAnswer {
    const params = input as unknown as Record<string, unknown>;
    for (const name of ['prepayId', 'openid'] as const) {
      if (typeof params[name] !== 'string' || params[name] === '') {
        throw new SimulatorControlError(`${name} is required`);
      }
    }
    if (params.outcome !== 'pay' && params.outcome !== 'cancel') {
      throw new SimulatorControlError('outcome must be pay or cancel');
    }
    const coupon = this.couponOf(params.coupon);
    const found = this.store.findByPrepayId(input.prepayId);
    if (!found) return refused('unknown-prepay');
    return this.complete(
      found,
      input.openid,
      input.outcome === 'pay' ? 'success' : 'cancel',
      'OTHERS',
      coupon,
    );
  }

  /** Why `openid` cannot pay with this prepay id now, checked in the order the client checks. */
  private paymentProblem(
    order: SimulatedOrder,
    prepay: PrepayRecord,
    openid: string,
  ): PaymentProblem | undefined {
    if (order.state === 'SUCCESS') return 'paid';
    if (order.state === 'CLOSED') return 'closed';
    if (this.clock.now() >= prepay.expiresAt) return 'expired';
    if (openid !== order.openid) return 'other-user';
    return undefined;
  }

  /** The user's decision once the payment request is known to be genuine. */
  private complete(
    { order, prepay }: { order: SimulatedOrder; prepay: PrepayRecord },
    openid: string,
    outcome: PaymentOutcome,
    bankType: string,
    coupon?: CouponUse,
  ): CashierAnswer {
    const problem = this.paymentProblem(order, prepay, openid);
    if (problem) return refused(problem);
    if (coupon && coupon.fee >= order.totalFee) {
      throw new SimulatorControlError('coupon.fee must be less than the order total_fee');
    }
    if (outcome === 'cancel') return failed('cancel');
    if (outcome === 'fail') {
      order.state = 'PAYERROR';
      return failed('支付失败，请稍后再试');
    }
    const now = this.clock.date();
    order.state = 'SUCCESS';
    order.paidAt = now.getTime();
    order.timeEnd = formatBeijingTime(now);
    order.bankType = bankType;
    if (coupon) order.coupon = coupon;
    order.cashFee = order.totalFee - (coupon?.fee ?? 0);
    this.store.recordTransaction(order, newTransactionId(now));
    this.ledger.recordPayment(order);
    this.notifier.start(order);
    return { errMsg: 'requestPayment:ok' };
  }

  orders(): SimulatedOrderView[] {
    return this.store.listOrders().map(orderView);
  }

  /** The order with this number (the first merchant's if several merchants used the same number). */
  order(outTradeNo: string): SimulatedOrderView | undefined {
    const [first] = this.store.findByOutTradeNo(outTradeNo);
    return first && orderView(first);
  }

  /** Every notification send so far, oldest first; optionally only those of one order. */
  notifications(outTradeNo?: string): NotificationAttempt[] {
    const all = this.notifier.records();
    return outTradeNo === undefined ? all : all.filter((a) => a.outTradeNo === outTradeNo);
  }

  faults(): SimulatorFaults {
    return this.faultInjector.current();
  }

  /** Merges these faults into the active ones; throws SimulatorControlError naming any bad field. */
  setFaults(update: Partial<SimulatorFaults>): SimulatorFaults {
    try {
      return this.faultInjector.set(update);
    } catch (err) {
      throw new SimulatorControlError((err as Error).message);
    }
  }

  resetFaults(): SimulatorFaults {
    return this.faultInjector.reset();
  }

  /**
   * Moves the simulator clock forward; returns the new simulator time. Orders past their retention
   * age are forgotten at once.
   */
  advanceClock(ms: number): Date {
    let now: number;
    try {
      now = this.clock.advance(ms);
    } catch (err) {
      throw new SimulatorControlError((err as Error).message);
    }
    this.store.sweep();
    this.ledger.prune();
    return new Date(now);
  }

  /**
   * Moves the simulator clock forward to a moment: a Date, or Beijing `yyyyMMddHHmmss` (e.g.
   * `20240502090000` for the morning the bill of 1 May is ready). A moment in the past is refused.
   */
  advanceClockTo(moment: Date | string): Date {
    const target = typeof moment === 'string' ? parseBeijingTime(moment) : moment;
    if (!(target instanceof Date) || Number.isNaN(target.getTime())) {
      throw new SimulatorControlError('to must be a Beijing time yyyyMMddHHmmss or a Date');
    }
    const ms = target.getTime() - this.clock.now();
    if (ms < 0) throw new SimulatorControlError('the simulator clock never moves back');
    return this.advanceClock(ms);
  }

  /** What the simulator holds in memory, and how many orders it has forgotten (retention limits). */
  stats(): SimulatorStats {
    const { refunds, ...held } = this.store.stats();
    return {
      ...held,
      notificationSends: this.notifier.records().length,
      refunds,
      refundNotificationSends: this.notifier.refundRecords().length,
      billRows: this.ledger.size(),
    };
  }

  /** Every refund held, oldest first; optionally only those of one order (out_trade_no). */
  refunds(outTradeNo?: string): SimulatedRefundView[] {
    const all = this.store.listRefunds();
    const chosen =
      outTradeNo === undefined ? all : all.filter((r) => r.order.outTradeNo === outTradeNo);
    return chosen.map(refundView);
  }

  private findRefund(ref: string): SimulatedRefund | undefined {
    const refunds = this.store.listRefunds();
    return refunds.find((r) => r.refundId === ref) ?? refunds.find((r) => r.outRefundNo === ref);
  }

  /** The refund with this refund_id or out_refund_no (the first merchant's if several used it). */
  refund(ref: string): SimulatedRefundView | undefined {
    const found = this.findRefund(ref);
    return found && refundView(found);
  }

  /**
   * Ends a refund that is still PROCESSING now: SUCCESS (default), CHANGE (the payer's account
   * cannot take it; the merchant must handle it by hand) or REFUNDCLOSE. Its notification starts.
   */
  finishRefund(ref: string, status: FinalRefundStatus = 'SUCCESS'): SimulatedRefundView {
    if (!FINAL_STATUSES.includes(status)) {
      throw new SimulatorControlError(`status must be one of ${FINAL_STATUSES.join(', ')}`);
    }
    const found = typeof ref === 'string' ? this.findRefund(ref) : undefined;
    if (!found) throw new SimulatorControlError('no refund with this refund_id or out_refund_no');
    if (!this.desk.finish(found, status)) {
      throw new SimulatorControlError(`the refund is already ${found.status}`);
    }
    return refundView(found);
  }

  /** Every refund notification send so far, oldest first; optionally only one refund's. */
  refundNotifications(outRefundNo?: string): RefundNotificationAttempt[] {
    const all = this.notifier.refundRecords();
    return outRefundNo === undefined ? all : all.filter((a) => a.outRefundNo === outRefundNo);
  }

  /** Resolves with the refund notification sends once `predicate` accepts them; rejects after `timeoutMs`. */
  waitForRefundNotifications(
    predicate: (attempts: RefundNotificationAttempt[]) => boolean,
    timeoutMs = 5000,
  ): Promise<RefundNotificationAttempt[]> {
    return waitFor(() => {
      const attempts = this.refundNotifications();
      return predicate(attempts) ? attempts : undefined;
    }, timeoutMs).catch(() => {
      throw new Error(
        `refund notifications did not reach the expected state within ${timeoutMs} ms; seen: ${JSON.stringify(
          this.refundNotifications().map(
            (a) => `${a.outRefundNo}#${a.attempt}.${a.copy}:${a.outcome}`,
          ),
        )}`,
      );
    });
  }

  /** The days that have bill rows, newest first, with their counts and totals (fen). */
  bills(): BillDay[] {
    return this.ledger.list(this.feeRateBasisPoints);
  }

  /**
   * A day's bill text as downloadbill serves it once it is ready, whether or not it is ready yet
   * (a day that is not over can still change); undefined when the day has no rows.
   */
  bill(query: BillQuery): string | undefined {
    const { date, mchId = this.merchants.primary.mchId, billType = 'ALL' } = query;
    if (typeof date !== 'string' || beijingDayStart(date) === undefined) {
      throw new SimulatorControlError('date must be a Beijing calendar date yyyyMMdd');
    }
    if (!(BILL_TYPES as readonly string[]).includes(billType)) {
      throw new SimulatorControlError(`billType must be one of ${BILL_TYPES.join(', ')}`);
    }
    const rows = this.ledger.rows(mchId, date);
    return rows && rows.length > 0
      ? renderBill(rows, billType, this.feeRateBasisPoints)
      : undefined;
  }

  now(): Date {
    return this.clock.date();
  }

  /** Resolves with the notification sends once `predicate` accepts them; rejects after `timeoutMs`. */
  waitForNotifications(
    predicate: (attempts: NotificationAttempt[]) => boolean,
    timeoutMs = 5000,
  ): Promise<NotificationAttempt[]> {
    return waitFor(() => {
      const attempts = this.notifications();
      return predicate(attempts) ? attempts : undefined;
    }, timeoutMs).catch(() => {
      throw new Error(
        `notifications did not reach the expected state within ${timeoutMs} ms; seen: ${JSON.stringify(
          this.notifications().map((a) => `${a.outTradeNo}#${a.attempt}.${a.copy}:${a.outcome}`),
        )}`,
      );
    });
  }
}

/**
 * Polls `probe` every few milliseconds until it returns something other than undefined or false,
 * and resolves with that; rejects after `timeoutMs`. A bounded alternative to sleeping in tests.
 */
export async function waitFor<T>(
  probe: () => T | undefined | false,
  timeoutMs = 5000,
  intervalMs = 5,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
