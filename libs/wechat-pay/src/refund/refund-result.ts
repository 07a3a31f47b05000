import { WechatPayBusinessError, WechatPayProtocolError } from '../errors/errors';
import type { RefundFields, RefundQueryFields } from '../gateway/request-validation';
import { parseBeijingDateTime } from '../util/beijing-time';
import { parseFen } from '../util/money';
import type {
  RefundCoupon,
  RefundQueryItem,
  RefundQueryNotFound,
  RefundQueryResult,
  RefundResult,
  RefundStatus,
} from './refund.types';

type Fields = Readonly<Record<string, string>>;

const REFUND_STATUSES: ReadonlySet<string> = new Set<RefundStatus>([
  'SUCCESS',
  'PROCESSING',
  'REFUNDCLOSE',
  'CHANGE',
]);

/** Integer fen from a field; an empty or absent optional field is "not reported". */
function fen(fields: Fields, name: string, text: string, required: true): number;
function fen(fields: Fields, name: string, text: string, required?: false): number | undefined;
function fen(fields: Fields, name: string, text: string, required = false): number | undefined {
  const value = fields[name];
  if (value === undefined || value === '') {
    if (required) throw new WechatPayProtocolError(`the answer has no ${name}`, text);
    return undefined;
  }
  const parsed = parseFen(value);
  if (parsed === undefined) {
    throw new WechatPayProtocolError(
      `${name} is not an integer amount of fen from 0 to MAX_FEN`,
      text,
    );
  }
  return parsed;
}

function requiredText(fields: Fields, name: string, text: string): string {
  const value = fields[name];
  if (!value) throw new WechatPayProtocolError(`the answer has no ${name}`, text);
  return value;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return (value === undefined || value === '' ? {} : { [key]: value }) as Partial<Record<K, V>>;
}

/** `coupon_{type,refund_id,refund_fee}_<suffix>_<m>` for m = 0.. while the refund id is there. */
function coupons(fields: Fields, suffix: string, text: string): RefundCoupon[] {
  const out: RefundCoupon[] = [];
  for (let m = 0; fields[`coupon_refund_id${suffix}_${m}`] !== undefined; m += 1) {
    out.push({
      ...optional('type', fields[`coupon_type${suffix}_${m}`]),
      refundId: fields[`coupon_refund_id${suffix}_${m}`],
      refundFee: fen(fields, `coupon_refund_fee${suffix}_${m}`, text, true),
    });
  }
  return out;
}

/**
 * A verified refund answer, checked against the request: it must be about our refund number and
 * carry the amounts we asked for, or it is refused (an answer about another refund must never
 * be recorded as ours).
 */
export function refundResult(request: RefundFields, fields: Fields, text: string): RefundResult {
  const outRefundNo = requiredText(fields, 'out_refund_no', text);
  if (outRefundNo !== request.out_refund_no) {
    throw new WechatPayProtocolError('the refund answer is about another out_refund_no', text);
  }
  if (
    request.out_trade_no !== undefined &&
    fields.out_trade_no &&
    fields.out_trade_no !== request.out_trade_no
  ) {
    throw new WechatPayProtocolError('the refund answer is about another out_trade_no', text);
  }
  if (
    request.transaction_id !== undefined &&
    fields.transaction_id &&
    fields.transaction_id !== request.transaction_id
  ) {
    throw new WechatPayProtocolError('the refund answer is about another transaction_id', text);
  }
  const totalFee = fen(fields, 'total_fee', text, true);
  const refundFee = fen(fields, 'refund_fee', text, true);
  if (totalFee !== request.total_fee || refundFee !== request.refund_fee) {
    throw new WechatPayProtocolError(
      'the refund answer reports other amounts than requested',
      text,
    );
  }
  return {
    outRefundNo,
    refundId: requiredText(fields, 'refund_id', text),
    outTradeNo: fields.out_trade_no || (request.out_trade_no ?? ''),
    transactionId: fields.transaction_id || (request.transaction_id ?? ''),
    totalFee,
    refundFee,
    ...optional('settlementTotalFee', fen(fields, 'settlement_total_fee', text)),
    ...optional('settlementRefundFee', fen(fields, 'settlement_refund_fee', text)),
    ...optional('cashFee', fen(fields, 'cash_fee', text)),
    ...optional('cashRefundFee', fen(fields, 'cash_refund_fee', text)),
    ...optional('couponRefundFee', fen(fields, 'coupon_refund_fee', text)),
    coupons: coupons(fields, '', text),
    raw: Object.freeze({ ...fields }),
  };
}

/** The indices n of `out_refund_no_$n`, in order. */
function refundIndices(fields: Fields): number[] {
  const indices: number[] = [];
  for (const name of Object.keys(fields)) {
    const match = /^out_refund_no_(\d{1,4})$/.exec(name);
    if (match) indices.push(Number(match[1]));
  }
  return indices.sort((a, b) => a - b);
}

function refundItem(fields: Fields, n: number, text: string): RefundQueryItem {
  const status = fields[`refund_status_${n}`];
  if (!REFUND_STATUSES.has(status)) {
    throw new WechatPayProtocolError(`refund_status_${n} is not a known refund status`, text);
  }
  const successTime = fields[`refund_success_time_${n}`];
  let successAt: Date | undefined;
  if (successTime) {
    successAt = parseBeijingDateTime(successTime);
    if (successAt === undefined) {
      throw new WechatPayProtocolError(`refund_success_time_${n} is not a Beijing time`, text);
    }
  }
  return {
    outRefundNo: fields[`out_refund_no_${n}`],
    refundId: requiredText(fields, `refund_id_${n}`, text),
    status: status as RefundStatus,
    refundFee: fen(fields, `refund_fee_${n}`, text, true),
    ...optional('settlementRefundFee', fen(fields, `settlement_refund_fee_${n}`, text)),
    ...optional('couponRefundFee', fen(fields, `coupon_refund_fee_${n}`, text)),
    ...optional('refundChannel', fields[`refund_channel_${n}`]),
    ...optional('refundAccount', fields[`refund_account_${n}`]),
    ...optional('refundRecvAccount', fields[`refund_recv_accout_${n}`]),
    ...optional('successTime', successTime),
    ...optional('successAt', successAt),
    coupons: coupons(fields, `_${n}`, text),
  };
}

/**
 * A verified refundquery answer: the `_$n` fields as a list (the `_$n_$m` coupon fields nested),
 * checked to be about what was asked and to hold as many refunds as `refund_count` says.
 */
export function refundQueryResult(
  query: RefundQueryFields,
  fields: Fields,
  text: string,
): RefundQueryResult {
  const refunds = refundIndices(fields).map((n) => refundItem(fields, n, text));
  const refundCount = fen(fields, 'refund_count', text, true);
  if (refundCount !== refunds.length) {
    throw new WechatPayProtocolError(
      `refund_count says ${refundCount} refunds but the answer lists ${refunds.length}`,
      text,
    );
  }
  const mismatch =
    ('out_trade_no' in query && fields.out_trade_no !== query.out_trade_no) ||
    ('transaction_id' in query && fields.transaction_id !== query.transaction_id) ||
    ('out_refund_no' in query && !refunds.some((r) => r.outRefundNo === query.out_refund_no)) ||
    ('refund_id' in query && !refunds.some((r) => r.refundId === query.refund_id));
  if (mismatch) {
    throw new WechatPayProtocolError(
      'the refundquery answer is about something else than asked',
      text,
    );
  }
  return {
    found: true,
    outTradeNo: requiredText(fields, 'out_trade_no', text),
    transactionId: requiredText(fields, 'transaction_id', text),
    totalFee: fen(fields, 'total_fee', text, true),
    ...optional('settlementTotalFee', fen(fields, 'settlement_total_fee', text)),
    ...optional('cashFee', fen(fields, 'cash_fee', text)),
    ...optional('feeType', fields.fee_type),
    refundCount,
    ...optional('totalRefundCount', fen(fields, 'total_refund_count', text)),
    refunds,
    raw: Object.freeze({ ...fields }),
  };
}

/** REFUNDNOTEXIST is an answer, not a failure: the typed "no such refund". */
export function refundNotFound(error: WechatPayBusinessError): RefundQueryNotFound | undefined {
  if (error.errCode !== 'REFUNDNOTEXIST') return undefined;
  return {
    found: false,
    errCode: 'REFUNDNOTEXIST',
    errCodeDes: error.errCodeDes,
  };
}
