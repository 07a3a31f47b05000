import { formatBeijingTime, formatYuan } from 'nestjs-wechat-pay-v2/protocol';
import { spacedTime, type SimulatedOrder, type SimulatedRefund } from './store';

/** The bill types downloadbill knows (§10). */
export const BILL_TYPES = ['ALL', 'SUCCESS', 'REFUND', 'RECHARGE_REFUND'] as const;
export type BillType = (typeof BILL_TYPES)[number];

/** Columns of each bill type, in the current ("免充值券") layout of §10. */
export const BILL_COLUMNS: Readonly<Record<BillType, readonly string[]>> = (() => {
  const head = [
    '交易时间',
    '公众账号ID',
    '商户号',
    '特约商户号',
    '设备号',
    '微信订单号',
    '商户订单号',
    '用户标识',
    '交易类型',
    '交易状态',
    '付款银行',
    '货币种类',
    '应结订单金额',
    '代金券金额',
  ];
  const refund = [
    '微信退款单号',
    '商户退款单号',
    '退款金额',
    '充值券退款金额',
    '退款类型',
    '退款状态',
  ];
  const goods = ['商品名称', '商户数据包', '手续费', '费率', '订单金额'];
  const all = [...head, ...refund, ...goods, '申请退款金额', '费率备注'];
  const refunds = [
    ...head,
    '退款申请时间',
    '退款成功时间',
    ...refund,
    ...goods,
    '申请退款金额',
    '费率备注',
  ];
  return Object.freeze({
    ALL: Object.freeze(all),
    SUCCESS: Object.freeze([...head, ...goods, '费率备注']),
    REFUND: Object.freeze(refunds),
    RECHARGE_REFUND: Object.freeze(refunds),
  });
})();

export const BILL_SUMMARY_COLUMNS: readonly string[] = Object.freeze([
  '总交易单数',
  '应结订单总金额',
  '退款总金额',
  '充值券退款总金额',
  '手续费总金额',
  '订单总金额',
  '申请退款总金额',
]);

/** What a bill row needs of its order, copied when the row is written so it outlives the order. */
interface TradeFacts {
  appId: string;
  mchId: string;
  deviceInfo: string;
  transactionId: string;
  outTradeNo: string;
  openid: string;
  tradeType: string;
  bankType: string;
  feeType: string;
  body: string;
  attach: string;
}

export interface PaymentBillRow extends TradeFacts {
  kind: 'payment';
  /** Payment time (simulator clock ms). */
  at: number;
  /** 应结订单金额: total_fee minus a NO_CASH coupon. */
  settlementTotalFee: number;
  couponFee: number;
  totalFee: number;
}

export interface RefundBillRow extends TradeFacts {
  kind: 'refund';
  /** Refund request time: 交易时间 and 退款申请时间. */
  at: number;
  successAt: number;
  refundId: string;
  outRefundNo: string;
  /** 退款金额: refund_fee minus the NO_CASH coupon part. */
  settlementRefundFee: number;
  /** 充值券退款金额: the part taken back from a CASH (pre-funded) coupon. */
  rechargeCouponRefundFee: number;
  channel: string;
  refundFee: number;
}

export type BillRow = PaymentBillRow | RefundBillRow;

/** One merchant's day as the dashboard and the bills control list it. */
export interface BillDay {
  mchId: string;
  /** Beijing calendar date, yyyyMMdd. */
  date: string;
  rows: number;
  payments: number;
  refunds: number;
  /** 应结订单总金额 and 退款总金额, in fen. */
  paidFee: number;
  refundedFee: number;
  /** 手续费总金额 in fen (refund rows take their share of the fee back). */
  serviceFee: number;
}

export const beijingDate = (ms: number) => formatBeijingTime(new Date(ms)).slice(0, 8);

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The instant a Beijing calendar date (yyyyMMdd) starts; undefined for a date that is not real. */
export function beijingDayStart(date: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(date);
  if (!m) return undefined;
  const utc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const start = utc - BEIJING_OFFSET_MS;
  return beijingDate(start) === date ? start : undefined;
}

/** Bills are generated from 09:00 Beijing time the next day (§10). */
export function billReadyAt(date: string): number {
  return (beijingDayStart(date) as number) + DAY_MS + 9 * 60 * 60 * 1000;
}

/** The first Beijing date still downloadable: bills go back three calendar months (§10). */
export function oldestBillDate(now: number): string {
  const today = beijingDate(now);
  const year = Number(today.slice(0, 4));
  const month = Number(today.slice(4, 6)) - 1 - 3;
  const day = Number(today.slice(6, 8));
  const first = new Date(Date.UTC(year, month, 1));
  const lastDay = new Date(
    Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0),
  ).getUTCDate();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${first.getUTCFullYear()}${pad(first.getUTCMonth() + 1)}${pad(Math.min(day, lastDay))}`;
}

function facts(order: SimulatedOrder): TradeFacts {
  return {
    appId: order.appId,
    mchId: order.mchId,
    deviceInfo: order.deviceInfo,
    transactionId: order.transactionId ?? '',
    outTradeNo: order.outTradeNo,
    openid: order.openid,
    tradeType: order.tradeType,
    bankType: order.bankType ?? '',
    feeType: order.feeType,
    body: order.body,
    attach: order.attach,
  };
}

/**
 * The rows of every bill, written as payments and refunds happen: a paid order is a row on the day
 * it was paid, a refund a row on the day it succeeded. Rows are copies, so a bill stays the same
 * after the store forgets the order, and a day's rows never change once the day is over.
 */
export class BillLedger {
  private readonly days = new Map<string, BillRow[]>();
  private rowCount = 0;

  constructor(
    private readonly now: () => number,
    private readonly maxRows: number,
  ) {}

  private static key(mchId: string, date: string): string {
    return `${mchId}\n${date}`;
  }

  private add(row: BillRow, at: number): void {
    const key = BillLedger.key(row.mchId, beijingDate(at));
    let rows = this.days.get(key);
    if (!rows) {
      rows = [];
      this.days.set(key, rows);
    }
    rows.push(row);
    this.rowCount += 1;
    this.prune();
  }

  recordPayment(order: SimulatedOrder): void {
    const couponFee = order.coupon?.fee ?? 0;
    const noCash = order.coupon?.type === 'NO_CASH' ? couponFee : 0;
    this.add(
      {
        kind: 'payment',
        ...facts(order),
        at: order.paidAt as number,
        settlementTotalFee: order.totalFee - noCash,
        couponFee,
        totalFee: order.totalFee,
      },
      order.paidAt as number,
    );
  }

  recordRefund(refund: SimulatedRefund): void {
    const successAt = refund.endedAt as number;
    const cashCoupon = refund.order.coupon?.type === 'CASH' ? refund.couponRefundFee : 0;
    this.add(
      {
        kind: 'refund',
        ...facts(refund.order),
        at: refund.createdAt,
        successAt,
        refundId: refund.refundId,
        outRefundNo: refund.outRefundNo,
        settlementRefundFee: refund.settlementRefundFee,
        rechargeCouponRefundFee: cashCoupon,
        channel: refund.channel,
        refundFee: refund.refundFee,
      },
      successAt,
    );
  }

  /**
   * Forgets days older than three months (no longer downloadable), then the oldest days while
   * more than maxRows rows are held. Whole days go, so a bill is complete or gone.
   */
  prune(): void {
    const oldest = oldestBillDate(this.now());
    for (const [key, rows] of this.days) {
      const date = key.slice(key.indexOf('\n') + 1);
      const tooMany = this.rowCount > this.maxRows && this.days.size > 1;
      if (date >= oldest && !tooMany) continue;
      this.days.delete(key);
      this.rowCount -= rows.length;
    }
  }

  /** The rows of one merchant's day, in the order they happened; undefined when nothing is held. */
  rows(mchId: string, date: string): readonly BillRow[] | undefined {
    return this.days.get(BillLedger.key(mchId, date));
  }

  /** True when the ledger still holds that date or anything after it for some merchant. */
  holds(date: string): boolean {
    return date >= oldestBillDate(this.now());
  }

  size(): number {
    return this.rowCount;
  }

  list(feeRateBasisPoints: number): BillDay[] {
    return [...this.days.entries()]
      .map(([key, rows]) => {
        const [mchId, date] = key.split('\n');
        const payments = rows.filter((r): r is PaymentBillRow => r.kind === 'payment');
        const refunds = rows.filter((r): r is RefundBillRow => r.kind === 'refund');
        return {
          mchId,
          date,
          rows: rows.length,
          payments: payments.length,
          refunds: refunds.length,
          paidFee: payments.reduce((sum, r) => sum + r.settlementTotalFee, 0),
          refundedFee: refunds.reduce((sum, r) => sum + r.settlementRefundFee, 0),
          serviceFee: rows.reduce((sum, r) => sum + serviceFee(r, feeRateBasisPoints), 0),
        };
      })
      .sort((a, b) =>
        a.date === b.date ? a.mchId.localeCompare(b.mchId) : a.date < b.date ? 1 : -1,
      );
  }
}

/**
 * The service fee of a row in fen: the rate applied to 应结订单金额 (a refund: to 退款金额, and
 * negative, the fee going back), rounded half up to a whole fen. Real bills print fees with five
 * decimals whose last three are zeros (`0.04000` for 6.00 yuan at 0.60 %), so WeChat rounds to fen.
 */
export function serviceFee(row: BillRow, feeRateBasisPoints: number): number {
  const base = row.kind === 'payment' ? row.settlementTotalFee : row.settlementRefundFee;
  const fee = Math.floor((base * feeRateBasisPoints + 5000) / 10000);
  return row.kind === 'payment' ? fee : fee === 0 ? 0 : -fee;
}

const yuan = (fen: number) => formatYuan(fen);
const fee5 = (fen: number) => `${formatYuan(fen)}000`;
export const feeRateText = (basisPoints: number) => `${(basisPoints / 100).toFixed(2)}%`;

/**
 * A value as the bill writes it: verbatim, commas included (real bills do not quote; readers
 * split on the comma before each backtick), except line breaks, which a line-based file cannot
 * carry and which become spaces.
 */
const text = (value: string) => value.replace(/\r\n|[\r\n]/g, ' ');

function rowValues(row: BillRow, type: BillType, rate: number): string[] {
  const payment = row.kind === 'payment';
  const fee = fee5(serviceFee(row, rate));
  const head = [
    spacedTime(row.at),
    row.appId,
    row.mchId,
    '0',
    text(row.deviceInfo),
    row.transactionId,
    row.outTradeNo,
    row.openid,
    row.tradeType,
    payment ? 'SUCCESS' : 'REFUND',
    row.bankType,
    row.feeType,
    payment ? yuan(row.settlementTotalFee) : '0.00',
    payment ? yuan(row.couponFee) : '0.00',
  ];
  const refund = payment
    ? ['0', '0', '0.00', '0.00', '', '']
    : [
        row.refundId,
        row.outRefundNo,
        yuan(row.settlementRefundFee),
        yuan(row.rechargeCouponRefundFee),
        row.channel,
        'SUCCESS',
      ];
  const goods = [
    text(row.body),
    text(row.attach),
    fee,
    feeRateText(rate),
    payment ? yuan(row.totalFee) : '0.00',
  ];
  const applied = payment ? '0.00' : yuan(row.refundFee);
  if (type === 'SUCCESS') return [...head, ...goods, ''];
  if (type === 'ALL') return [...head, ...refund, ...goods, applied, ''];
  const times = payment ? ['', ''] : [spacedTime(row.at), spacedTime(row.successAt)];
  return [...head, ...times, ...refund, ...goods, applied, ''];
}

function includes(row: BillRow, type: BillType): boolean {
  if (type === 'ALL') return true;
  if (type === 'SUCCESS') return row.kind === 'payment';
  if (type === 'REFUND') return row.kind === 'refund';
  return row.kind === 'refund' && row.rechargeCouponRefundFee > 0;
}

const line = (values: readonly string[]) => values.map((v) => `\`${v}`).join(',');

/**
 * A bill's text (§10): the column header, one backtick-prefixed line per row, the summary header
 * and the summary line, each ending in a newline. Deterministic: the same rows give the same bytes.
 */
export function renderBill(
  rows: readonly BillRow[],
  type: BillType,
  feeRateBasisPoints: number,
): string {
  const chosen = rows.filter((row) => includes(row, type));
  const sum = (pick: (row: BillRow) => number) =>
    chosen.reduce((total, row) => total + pick(row), 0);
  const summary = [
    String(chosen.length),
    yuan(sum((r) => (r.kind === 'payment' ? r.settlementTotalFee : 0))),
    yuan(sum((r) => (r.kind === 'refund' ? r.settlementRefundFee : 0))),
    yuan(sum((r) => (r.kind === 'refund' ? r.rechargeCouponRefundFee : 0))),
    fee5(sum((r) => serviceFee(r, feeRateBasisPoints))),
    yuan(sum((r) => (r.kind === 'payment' ? r.totalFee : 0))),
    yuan(sum((r) => (r.kind === 'refund' ? r.refundFee : 0))),
  ];
  return [
    BILL_COLUMNS[type].join(','),
    ...chosen.map((row) => line(rowValues(row, type, feeRateBasisPoints))),
    BILL_SUMMARY_COLUMNS.join(','),
    line(summary),
    '',
  ].join('\n');
}
