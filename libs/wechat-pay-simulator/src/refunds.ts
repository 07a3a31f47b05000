import { createNonce, encryptReqInfo, type SignType } from 'nestjs-wechat-pay-v2/protocol';
import type { BillLedger } from './bills';
import type { SimulatorClock } from './clock';
import type { FaultInjector } from './faults';
import { newRefundId } from './ids';
import type { MerchantRegistry } from './merchants';
import type { Notifier } from './notifier';
import type { SimulatorRealism } from './realism';
import {
  refundedFeeOf,
  spacedTime,
  type RefundStatus,
  type SimulatedOrder,
  type SimulatedRefund,
  type SimulatorStore,
} from './store';
import type { TimerRegistry } from './timers';
import { renderXml, type WireFields } from './wire';

/** At most this many refunds per order (§9.1). */
export const MAX_REFUNDS_PER_ORDER = 50;

export type FinalRefundStatus = Exclude<RefundStatus, 'PROCESSING'>;

export interface RefundRequest {
  outRefundNo: string;
  totalFee: number;
  refundFee: number;
  refundDesc: string;
  refundAccount: string;
  notifyUrl: string;
  signType: SignType;
}

export interface RefundDeskSettings {
  /** Real milliseconds from acceptance to the final status, already scaled. */
  delayMs: number;
  realism: Readonly<SimulatorRealism>;
}

const BANKS: Record<string, string> = {
  CMB: '招商银行',
  ICBC: '工商银行',
  CCB: '建设银行',
  ABC: '农业银行',
  BOC: '中国银行',
  COMM: '交通银行',
  PSBC: '邮储银行',
  SPDB: '浦发银行',
};

/**
 * Where a refund goes back: the payer's balance (零钱) for balance payments and the simulator's
 * default bank type, else the paying card, as refundquery words it (`招商银行信用卡0403`).
 */
export function receivingAccount(order: SimulatedOrder): string {
  const bankType = order.bankType ?? 'OTHERS';
  const card = /^([A-Z]+)_(CREDIT|DEBIT)$/.exec(bankType);
  if (!card) return '支付用户零钱';
  const last4 = (order.transactionId ?? '0000').slice(-4);
  const bank = BANKS[card[1]] ?? '银行';
  return `${bank}${card[2] === 'CREDIT' ? '信用卡' : '借记卡'}${last4}`;
}

/**
 * The coupon's share of a refund: proportional to the refund's share of the order, and the rest
 * of the coupon on the refund that takes the order to its full amount, so the coupon parts of
 * the refunds add up to the coupon exactly.
 */
function couponShare(order: SimulatedOrder, refundFee: number): number {
  const coupon = order.coupon;
  if (!coupon) return 0;
  const active = order.refunds.filter((r) => r.status !== 'REFUNDCLOSE');
  const refunded = active.reduce((sum, r) => sum + r.refundFee, 0);
  if (refunded + refundFee === order.totalFee) {
    return coupon.fee - active.reduce((sum, r) => sum + r.couponRefundFee, 0);
  }
  return Math.floor((refundFee * coupon.fee) / order.totalFee);
}

/**
 * Refunds after the checks: it records them, moves each from PROCESSING to its final status on a
 * (scaled) real timer, writes the bill row of a successful one and sends the refund notification.
 */
export class RefundDesk {
  constructor(
    private readonly store: SimulatorStore,
    private readonly clock: SimulatorClock,
    private readonly faults: FaultInjector,
    private readonly timers: TimerRegistry,
    private readonly notifier: Notifier,
    private readonly ledger: BillLedger,
    private readonly merchants: MerchantRegistry,
    private readonly settings: RefundDeskSettings,
  ) {}

  /** What is left to refund: the order amount minus the refunds that are not closed. */
  static remaining(order: SimulatedOrder): number {
    return order.totalFee - refundedFeeOf(order);
  }

  accept(order: SimulatedOrder, request: RefundRequest): SimulatedRefund {
    const now = this.clock.now();
    const couponRefundFee = couponShare(order, request.refundFee);
    const noCash = order.coupon?.type === 'NO_CASH' ? couponRefundFee : 0;
    const refund: SimulatedRefund = {
      order,
      refundId: newRefundId(new Date(now)),
      outRefundNo: request.outRefundNo,
      totalFee: request.totalFee,
      refundFee: request.refundFee,
      couponRefundFee,
      settlementRefundFee: request.refundFee - noCash,
      cashRefundFee: request.refundFee - couponRefundFee,
      refundDesc: request.refundDesc,
      refundAccount: request.refundAccount,
      notifyUrl: request.notifyUrl,
      recvAccount: receivingAccount(order),
      channel: 'ORIGINAL',
      signType: request.signType,
      createdAt: now,
      status: 'PROCESSING',
      notification: 'none',
    };
    this.store.addRefund(refund);
    const outcome = this.faults.takeRefundOutcome();
    if (outcome !== 'PROCESSING') {
      this.timers.after(this.settings.delayMs, () => {
        if (refund.order.retained && refund.status === 'PROCESSING') this.finish(refund, outcome);
      });
    }
    return refund;
  }

  /** Ends a refund that is still PROCESSING; false when it had already ended. */
  finish(refund: SimulatedRefund, status: FinalRefundStatus): boolean {
    if (refund.status !== 'PROCESSING') return false;
    refund.status = status;
    refund.endedAt = this.clock.now();
    if (status === 'SUCCESS') this.ledger.recordRefund(refund);
    if (refund.notifyUrl !== '') this.notifier.startRefund(refund, this.notificationBody(refund));
    return true;
  }

  /** The `<root>` document inside req_info, fields in name order as in published ones (§9.3). */
  plaintext(refund: SimulatedRefund): string {
    const order = refund.order;
    const noCash = order.coupon?.type === 'NO_CASH' ? order.coupon.fee : 0;
    const fields: WireFields = {
      out_refund_no: refund.outRefundNo,
      out_trade_no: order.outTradeNo,
      refund_account: refund.refundAccount,
      refund_fee: refund.refundFee,
      refund_id: refund.refundId,
      refund_recv_accout: refund.recvAccount,
      refund_request_source: 'API',
      refund_status: refund.status,
      settlement_refund_fee: refund.settlementRefundFee,
      settlement_total_fee: order.totalFee - noCash,
      success_time: refund.status === 'SUCCESS' ? spacedTime(refund.endedAt as number) : undefined,
      total_fee: order.totalFee,
      transaction_id: order.transactionId,
    };
    return renderXml(
      fields,
      { newlines: this.settings.realism.newlines, cdataIntegers: true },
      'root',
    );
  }

  /**
   * The refund notification: return_code, appid, mch_id, nonce_str and req_info, no sign (§9.3).
   * req_info is the base64 AES-256-ECB of the `<root>` document under the MD5 of the API key.
   */
  notificationBody(refund: SimulatedRefund): string {
    const order = refund.order;
    const apiKey = this.merchants.bound(order.appId, order.mchId)?.apiKey ?? '';
    return renderXml(
      {
        return_code: 'SUCCESS',
        appid: order.appId,
        mch_id: order.mchId,
        nonce_str: createNonce(),
        req_info: encryptReqInfo(this.plaintext(refund), apiKey),
      },
      { newlines: this.settings.realism.newlines, cdataIntegers: false },
    );
  }
}
