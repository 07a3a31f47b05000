import type { BillRow, OrderQueryResult, RefundQueryResult } from 'nestjs-wechat-pay-v2';
import { beijingDate } from './bill-date';

/**
 * Order statuses that mean "paid here": a refunded order was paid all the same, and its payment is
 * in the bill of the day it was paid.
 */
export const PAID_HERE_STATUSES: readonly string[] = ['PAID', 'PARTIALLY_REFUNDED', 'REFUNDED'];

export const DISCREPANCY_KINDS = [
  /** The bill has the payment; the order is not recorded paid here (or not known at all). */
  'PAID_AT_WECHAT_NOT_HERE',
  /** The order is recorded paid here on that day; the bill has no such payment. */
  'PAID_HERE_NOT_AT_WECHAT',
  /** Both sides have the payment or refund, for different amounts. */
  'AMOUNT_DIFFERS',
  /** The bill has a refund that is not recorded here. */
  'REFUND_AT_WECHAT_NOT_HERE',
  /** A refund recorded successful here on that day is not in the bill. */
  'REFUND_HERE_NOT_AT_WECHAT',
  /** Both sides know the trade, in different states (a refund WeChat finished that is still processing here, say). */
  'STATUS_DIFFERS',
  /** The order is paid on both sides, under different WeChat transaction ids. */
  'TRANSACTION_DIFFERS',
] as const;
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

/** One problem found in a day's comparison, before it is stored. */
export interface Finding {
  kind: DiscrepancyKind;
  orderNo: string;
  refundNo: string | null;
  transactionId: string | null;
  wechatFen: number | null;
  ourFen: number | null;
  detail: string;
  repaired: boolean;
}

/**
 * What makes a finding the same finding on a re-run: its kind and what it is about. Payment
 * findings are about an order number, refund findings about an order's refund number; `/` is in
 * neither alphabet, so the two never collide.
 */
export function findingSubject(finding: Pick<Finding, 'orderNo' | 'refundNo'>): string {
  return finding.refundNo === null ? finding.orderNo : `${finding.orderNo}/${finding.refundNo}`;
}

/** A bill row read as one trade: a payment or a refund, amounts in fen. */
export type BillLine =
  | {
      type: 'payment';
      orderNo: string;
      transactionId: string;
      /** 订单金额 (the order's total_fee); older layouts without it: 应结订单金额. */
      amountFen: number;
      /** 交易状态: SUCCESS for a payment; REVOKED and the like for other trades. */
      tradeState: string;
      tradeTime: Date;
    }
  | {
      type: 'refund';
      orderNo: string;
      transactionId: string;
      refundNo: string;
      refundId: string;
      /** 申请退款金额 (the refund_fee asked for); older layouts: 退款金额. */
      amountFen: number;
      /** 退款状态 in the shop's words: SUCCESS, PROCESSING, CLOSED, CHANGE. */
      status: string;
    };

/** WeChat's refund states as refunds.status names them. */
const REFUND_STATUS_HERE: Readonly<Record<string, string>> = { REFUNDCLOSE: 'CLOSED' };

/**
 * A refund row of an ALL bill has trade state REFUND and its refund columns filled (a payment row
 * writes `0` there); anything else is the order's own trade. Amounts compare with what the shop
 * sent: the order's total_fee and the refund's refund_fee, not the settlement amounts (which a
 * coupon lowers).
 */
export function billLine(row: BillRow): BillLine {
  const refundId = row.refundId ?? '';
  if (row.tradeState === 'REFUND' || (refundId !== '' && refundId !== '0')) {
    const status = (row.refundStatus || 'SUCCESS').toUpperCase();
    return {
      type: 'refund',
      orderNo: row.outTradeNo,
      transactionId: row.transactionId,
      refundNo: row.outRefundNo ?? '',
      refundId,
      amountFen: row.refundApplyFee ?? row.refundFee ?? 0,
      status: REFUND_STATUS_HERE[status] ?? status,
    };
  }
  return {
    type: 'payment',
    orderNo: row.outTradeNo,
    transactionId: row.transactionId,
    amountFen: row.totalFee ?? row.settlementTotalFee,
    tradeState: row.tradeState,
    tradeTime: row.tradeTime,
  };
}

/** The order columns a comparison reads. */
export interface OrderFacts {
  id: number;
  orderNo: string;
  status: string;
  amountFen: number;
  transactionId: string | null;
  paidAt: number | null;
}

/** The refund columns a comparison reads. */
export interface RefundFacts {
  id: number;
  refundNo: string;
  orderNo: string;
  status: string;
  amountFen: number;
  refundId: string | null;
  successAt: number | null;
}

export const isPaidHere = (order: OrderFacts) => PAID_HERE_STATUSES.includes(order.status);

/**
 * A payment row against the order it names. `settle`: the order exists and is not paid here, so
 * the payment is to be settled through the exactly-once path (orderquery), and the finding then
 * written from its outcome (see settledFinding).
 */
export type PaymentVerdict =
  | { match: true; finding?: Finding }
  | { match: false; finding: Finding }
  | { settle: true; order: OrderFacts };

export function comparePayment(
  line: Extract<BillLine, { type: 'payment' }>,
  order: OrderFacts | undefined,
): PaymentVerdict {
  const base = {
    orderNo: line.orderNo,
    refundNo: null,
    transactionId: line.transactionId || null,
    wechatFen: line.amountFen,
    repaired: false,
  };
  if (!order) {
    return {
      match: false,
      finding: {
        ...base,
        kind: 'PAID_AT_WECHAT_NOT_HERE',
        ourFen: null,
        detail: 'the shop has no order with this number',
      },
    };
  }
  const ours = { ...base, ourFen: order.amountFen };
  if (line.tradeState !== 'SUCCESS') {
    // A trade that did not end in a payment (REVOKED, say) only matters when we count it paid.
    if (!isPaidHere(order)) return { match: true };
    return {
      match: true,
      finding: {
        ...ours,
        kind: 'STATUS_DIFFERS',
        detail: `WeChat: ${line.tradeState}, here: ${order.status}`,
      },
    };
  }
  if (order.amountFen !== line.amountFen) {
    if (!isPaidHere(order)) return { settle: true, order };
    return {
      match: true,
      finding: {
        ...ours,
        kind: 'AMOUNT_DIFFERS',
        detail: `WeChat: ${line.amountFen} fen, here: ${order.amountFen} fen`,
      },
    };
  }
  if (!isPaidHere(order)) return { settle: true, order };
  if (order.transactionId !== line.transactionId) {
    return {
      match: true,
      finding: {
        ...ours,
        kind: 'TRANSACTION_DIFFERS',
        detail: `WeChat: transaction ${line.transactionId}, here: ${order.transactionId ?? 'none'}`,
      },
    };
  }
  return { match: true };
}

/**
 * The finding for a payment the bill has and the shop had not recorded, from what settling it
 * through orderquery led to: a payment now recorded (PAID, or PAID_AFTER_CLOSE for an order closed
 * here, which is fulfilled and put up for review) is repaired; an amount mismatch stays for a
 * person (the settle path records the review); anything else is reported as it is. `error`: the
 * orderquery failed, and a re-run tries again.
 */
export function settledFinding(
  line: Extract<BillLine, { type: 'payment' }>,
  order: OrderFacts,
  outcome: { settled: string } | { error: string },
): Finding {
  const base = {
    orderNo: line.orderNo,
    refundNo: null,
    transactionId: line.transactionId || null,
    wechatFen: line.amountFen,
    ourFen: order.amountFen,
  };
  if ('error' in outcome) {
    return {
      ...base,
      kind: line.amountFen === order.amountFen ? 'PAID_AT_WECHAT_NOT_HERE' : 'AMOUNT_DIFFERS',
      detail: `was ${order.status} here; orderquery failed (${outcome.error}), a re-run tries again`,
      repaired: false,
    };
  }
  const repaired = outcome.settled === 'PAID' || outcome.settled === 'PAID_AFTER_CLOSE';
  if (line.amountFen !== order.amountFen || outcome.settled === 'AMOUNT_MISMATCH') {
    return {
      ...base,
      kind: 'AMOUNT_DIFFERS',
      detail: `WeChat: ${line.amountFen} fen, here: ${order.amountFen} fen; was ${order.status} here, orderquery: ${outcome.settled}`,
      repaired,
    };
  }
  return {
    ...base,
    kind: 'PAID_AT_WECHAT_NOT_HERE',
    detail: repaired
      ? `was ${order.status} here; settled through orderquery (${outcome.settled})`
      : `was ${order.status} here; orderquery: ${outcome.settled}`,
    repaired,
  };
}

/** A refund row against the refund it names (our out_refund_no). */
export function compareRefund(
  line: Extract<BillLine, { type: 'refund' }>,
  refund: RefundFacts | undefined,
): Finding | undefined {
  const base = {
    orderNo: line.orderNo,
    refundNo: line.refundNo,
    transactionId: line.transactionId || null,
    wechatFen: line.amountFen,
    repaired: false,
  };
  if (!refund) {
    return {
      ...base,
      kind: 'REFUND_AT_WECHAT_NOT_HERE',
      ourFen: null,
      detail: `WeChat refund ${line.refundId} (${line.status}) is not recorded here`,
    };
  }
  const ours = { ...base, ourFen: refund.amountFen };
  if (refund.status !== line.status) {
    return {
      ...ours,
      kind: 'STATUS_DIFFERS',
      detail: `refund ${line.refundId}: WeChat: ${line.status}, here: ${refund.status}`,
    };
  }
  if (refund.amountFen !== line.amountFen) {
    return {
      ...ours,
      kind: 'AMOUNT_DIFFERS',
      detail: `refund ${line.refundId}: WeChat: ${line.amountFen} fen, here: ${refund.amountFen} fen`,
    };
  }
  return undefined;
}

/**
 * An order recorded paid here on `date` that the day's bill does not have, judged by what
 * orderquery says now. WeChat writes a payment into the bill of its own payment time, which can be
 * the day before ours: paid at 23:59:59 on the 1st, the notification (or the reconciler) records
 * it at 00:00:01 on the 2nd. The 2nd's bill rightly lacks it, and the 1st's run matched it by
 * order number; so an order whose WeChat payment time falls on another day belongs to that day
 * and is no discrepancy here. Anything else is: not paid at WeChat, or paid that day and
 * missing from the bill.
 */
export function unbilledPaymentFinding(
  order: OrderFacts,
  date: string,
  answer: OrderQueryResult | { notFound: true },
): Finding | undefined {
  const base = {
    kind: 'PAID_HERE_NOT_AT_WECHAT' as const,
    orderNo: order.orderNo,
    refundNo: null,
    transactionId: order.transactionId,
    wechatFen: null,
    ourFen: order.amountFen,
    repaired: false,
  };
  if ('notFound' in answer) return { ...base, detail: 'WeChat has no such order (ORDERNOTEXIST)' };
  const paid = answer.tradeState === 'SUCCESS' || answer.tradeState === 'REFUND';
  if (paid && answer.timeEnd && answer.timeEnd.slice(0, 8) !== date) return undefined;
  return {
    ...base,
    detail: paid
      ? `orderquery reports it paid at ${answer.timeEnd ?? '?'}, but the bill has no row for it`
      : `WeChat trade_state: ${answer.tradeState}`,
  };
}

/**
 * A refund recorded successful here on `date` that the day's bill does not have, judged by
 * refundquery: as with payments, one WeChat finished on another day belongs to that day's bill.
 */
export function unbilledRefundFinding(
  refund: RefundFacts,
  date: string,
  answer: RefundQueryResult,
): Finding | undefined {
  const base = {
    kind: 'REFUND_HERE_NOT_AT_WECHAT' as const,
    orderNo: refund.orderNo,
    refundNo: refund.refundNo,
    transactionId: null,
    wechatFen: null,
    ourFen: refund.amountFen,
    repaired: false,
  };
  if (!answer.found) return { ...base, detail: 'WeChat has no such refund (REFUNDNOTEXIST)' };
  const item = answer.refunds.find((r) => r.outRefundNo === refund.refundNo);
  if (!item) return { ...base, detail: 'refundquery does not list this refund' };
  if (item.status === 'SUCCESS' && item.successAt && beijingDate(item.successAt.getTime()) !== date)
    return undefined;
  return {
    ...base,
    transactionId: answer.transactionId || null,
    wechatFen: item.status === 'SUCCESS' ? item.refundFee : null,
    detail:
      item.status === 'SUCCESS'
        ? `refundquery reports it successful at ${item.successTime ?? '?'}, but the bill has no row for it`
        : `WeChat refund status: ${item.status}`,
  };
}

/** Counts and fen totals of one side of a day. */
export interface SideTotals {
  payments: number;
  paymentsFen: number;
  refunds: number;
  refundsFen: number;
}

export const emptyTotals = (): SideTotals => ({
  payments: 0,
  paymentsFen: 0,
  refunds: 0,
  refundsFen: 0,
});
