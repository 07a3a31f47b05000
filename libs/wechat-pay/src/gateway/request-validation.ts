import { isIP } from 'node:net';
import { WechatPayRequestError } from '../errors/errors';
import { isSignType, type SignType } from '../signer/sign';
import { formatBeijingTime, parseBeijingTime } from '../util/beijing-time';
import { isFen, MAX_FEN } from '../util/money';
import type { BillType, DownloadBillRequest } from '../bill/bill.types';
import type { RefundQueryRequest, RefundRequest } from '../refund/refund.types';
import type { OrderQueryRequest, UnifiedOrderRequest } from './gateway.types';

/**
 * Validators that run before anything is sent. Each failure is a WechatPayRequestError naming the
 * request field as the caller spelled it (`outTradeNo`, not `out_trade_no`); messages never echo a
 * value. Lengths count Unicode code points ("characters"), so one Chinese character or one emoji
 * counts as one; WeChat's documents give lengths in characters without saying more.
 */

/** WeChat's documented minimum lifetime of a (non-micropay) order: time_expire - time_start. */
export const MIN_ORDER_LIFETIME_MS = 5 * 60 * 1000;

/** The unifiedorder business fields, checked and named as WeChat names them. */
export type UnifiedOrderFields = {
  out_trade_no: string;
  body: string;
  total_fee: number;
  openid: string;
  spbill_create_ip: string;
  notify_url: string;
  fee_type?: 'CNY';
  attach?: string;
  detail?: string;
  device_info?: string;
  goods_tag?: string;
  limit_pay?: 'no_credit';
  time_start?: string;
  time_expire?: string;
};

export type OrderQueryFields = { out_trade_no: string } | { transaction_id: string };

const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;
const TRANSACTION_ID = /^\d{1,32}$/;
const EDGE_WHITESPACE = /^\s|\s$/u;

function isXmlCharacter(codePoint: number): boolean {
  return (
    codePoint === 0x9 ||
    codePoint === 0xa ||
    codePoint === 0xd ||
    (codePoint >= 0x20 && codePoint <= 0xd7ff) ||
    (codePoint >= 0xe000 && codePoint <= 0xfffd) ||
    codePoint >= 0x10000
  );
}

/**
 * Checks what every string value must satisfy and returns its length in code points. Edge
 * whitespace is refused because WeChat trims values before signing, so the signature would cover
 * a different text than the one sent; control characters and lone surrogates cannot travel in XML.
 */
function checkedLength(value: string, field: string): number {
  if (EDGE_WHITESPACE.test(value)) {
    throw new WechatPayRequestError(field, 'must not start or end with whitespace');
  }
  let length = 0;
  for (const character of value) {
    if (!isXmlCharacter(character.codePointAt(0) as number)) {
      throw new WechatPayRequestError(field, 'contains a character that XML cannot carry');
    }
    length += 1;
  }
  return length;
}

function requiredText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string') throw new WechatPayRequestError(field, 'must be a string');
  const length = checkedLength(value, field);
  if (length === 0) throw new WechatPayRequestError(field, 'is required');
  if (length > max) throw new WechatPayRequestError(field, `must be at most ${max} characters`);
  return value;
}

/** An absent or empty optional value is not sent: WeChat ignores empty fields anyway. */
function optionalText(value: unknown, field: string, max: number): string | undefined {
  if (value === undefined || value === '') return undefined;
  return requiredText(value, field, max);
}

function requireObject(value: unknown): void {
  if (value === null || typeof value !== 'object') {
    throw new WechatPayRequestError('request', 'must be an object');
  }
}

export function validateOutTradeNo(value: unknown, field = 'outTradeNo'): string {
  const text = requiredText(value, field, 32);
  if (!OUT_TRADE_NO.test(text)) {
    throw new WechatPayRequestError(field, 'must be 6 to 32 of 0-9 A-Z a-z _ - | *');
  }
  return text;
}

export function validateTransactionId(value: unknown, field = 'transactionId'): string {
  const text = requiredText(value, field, 32);
  if (!TRANSACTION_ID.test(text)) {
    throw new WechatPayRequestError(field, 'must be 1 to 32 digits');
  }
  return text;
}

export function validateTotalFee(value: unknown, field = 'totalFee'): number {
  if (!isFen(value) || value === 0) {
    throw new WechatPayRequestError(field, `must be an integer number of fen from 1 to ${MAX_FEN}`);
  }
  return value;
}

export function validateSignType(value: unknown, field = 'signType'): SignType {
  if (!isSignType(value)) throw new WechatPayRequestError(field, 'must be MD5 or HMAC-SHA256');
  return value;
}

/** An absolute http(s) URL of at most 256 characters, without query string or fragment. */
export function validateNotifyUrl(value: unknown, field = 'notifyUrl'): string {
  const text = requiredText(value, field, 256);
  if (/[?#]/.test(text)) {
    throw new WechatPayRequestError(field, 'must not contain a query string or fragment');
  }
  if (/\s/.test(text)) throw new WechatPayRequestError(field, 'must not contain whitespace');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new WechatPayRequestError(field, 'must be an absolute http(s) URL');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new WechatPayRequestError(field, 'must be an absolute http(s) URL');
  }
  return text;
}

export function validateIp(value: unknown, field = 'spbillCreateIp'): string {
  const text = requiredText(value, field, 64);
  if (isIP(text) === 0) throw new WechatPayRequestError(field, 'must be an IPv4 or IPv6 address');
  return text;
}

interface BeijingTime {
  text: string;
  at: Date;
}

/** A Date, or `yyyyMMddHHmmss` that is a real Beijing wall-clock time. */
function beijingTime(value: unknown, field: string): BeijingTime | undefined {
  if (value === undefined) return undefined;
  let text: string;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime()))
      throw new WechatPayRequestError(field, 'must be a valid Date');
    text = formatBeijingTime(value);
  } else if (typeof value === 'string') {
    text = value;
  } else {
    throw new WechatPayRequestError(field, 'must be a Date or a yyyyMMddHHmmss string');
  }
  const at = parseBeijingTime(text);
  if (at === undefined) {
    throw new WechatPayRequestError(field, 'must be a real Beijing time as yyyyMMddHHmmss');
  }
  return { text, at };
}

/**
 * Checks a unifiedorder request and returns its business fields in WeChat's names; `notifyUrl`
 * falls back to the configured one. `now` is the reference for time_expire when no time_start is
 * given; it is truncated to the second because WeChat times have no finer resolution.
 */
export function validateUnifiedOrderRequest(
  request: UnifiedOrderRequest,
  defaults: { notifyUrl?: string },
  now: Date = new Date(),
): UnifiedOrderFields {
  requireObject(request);
  if (request.signType !== undefined) validateSignType(request.signType);
  if (request.feeType !== undefined && request.feeType !== 'CNY') {
    throw new WechatPayRequestError('feeType', 'must be CNY');
  }
  if (request.limitPay !== undefined && request.limitPay !== 'no_credit') {
    throw new WechatPayRequestError('limitPay', 'must be no_credit');
  }
  const notifyUrl = request.notifyUrl ?? defaults.notifyUrl;
  if (notifyUrl === undefined) {
    throw new WechatPayRequestError(
      'notifyUrl',
      'is required (in the request or the module options)',
    );
  }

  const fields: UnifiedOrderFields = {
    out_trade_no: validateOutTradeNo(request.outTradeNo),
    body: requiredText(request.body, 'body', 127),
    total_fee: validateTotalFee(request.totalFee),
    openid: requiredText(request.openid, 'openid', 128),
    spbill_create_ip: validateIp(request.spbillCreateIp),
    notify_url: validateNotifyUrl(notifyUrl),
  };
  if (request.feeType !== undefined) fields.fee_type = request.feeType;
  if (request.limitPay !== undefined) fields.limit_pay = request.limitPay;
  const attach = optionalText(request.attach, 'attach', 127);
  if (attach !== undefined) fields.attach = attach;
  const detail = optionalText(request.detail, 'detail', 6000);
  if (detail !== undefined) fields.detail = detail;
  const deviceInfo = optionalText(request.deviceInfo, 'deviceInfo', 32);
  if (deviceInfo !== undefined) fields.device_info = deviceInfo;
  const goodsTag = optionalText(request.goodsTag, 'goodsTag', 32);
  if (goodsTag !== undefined) fields.goods_tag = goodsTag;

  const start = beijingTime(request.timeStart, 'timeStart');
  const expire = beijingTime(request.timeExpire, 'timeExpire');
  if (start !== undefined) fields.time_start = start.text;
  if (expire !== undefined) {
    const from = start?.at.getTime() ?? Math.floor(now.getTime() / 1000) * 1000;
    if (expire.at.getTime() - from < MIN_ORDER_LIFETIME_MS) {
      throw new WechatPayRequestError(
        'timeExpire',
        `must be at least 5 minutes after ${start !== undefined ? 'timeStart' : 'now'}`,
      );
    }
    fields.time_expire = expire.text;
  }
  return fields;
}

/** Exactly one of outTradeNo and transactionId. */
export function validateOrderQueryRequest(request: OrderQueryRequest): OrderQueryFields {
  requireObject(request);
  const hasOutTradeNo = request.outTradeNo !== undefined;
  const hasTransactionId = request.transactionId !== undefined;
  if (hasOutTradeNo && hasTransactionId) {
    throw new WechatPayRequestError('transactionId', 'must not be given together with outTradeNo');
  }
  if (hasTransactionId) return { transaction_id: validateTransactionId(request.transactionId) };
  if (!hasOutTradeNo) {
    throw new WechatPayRequestError('outTradeNo', 'outTradeNo or transactionId is required');
  }
  return { out_trade_no: validateOutTradeNo(request.outTradeNo) };
}

/** The code from wx.login(); a generous cap keeps the URL bounded (real codes are 32 characters). */
export function validateJsCode(value: unknown, field = 'jsCode'): string {
  return requiredText(value, field, 256);
}

/** A prepay_id as WeChat issues it: opaque, at most 64 characters, no whitespace. */
export function validatePrepayId(value: unknown, field = 'prepayId'): string {
  const text = requiredText(value, field, 64);
  if (/\s/.test(text)) throw new WechatPayRequestError(field, 'must not contain whitespace');
  return text;
}

const OUT_REFUND_NO = /^[0-9A-Za-z_\-|*@]{1,64}$/;
const REFUND_ID = /^\d{1,32}$/;
const REFUND_ACCOUNTS = ['REFUND_SOURCE_UNSETTLED_FUNDS', 'REFUND_SOURCE_RECHARGE_FUNDS'];

export type RefundFields = {
  out_refund_no: string;
  total_fee: number;
  refund_fee: number;
  out_trade_no?: string;
  transaction_id?: string;
  refund_desc?: string;
  notify_url?: string;
  refund_account?: string;
};

export function validateOutRefundNo(value: unknown, field = 'outRefundNo'): string {
  const text = requiredText(value, field, 64);
  if (!OUT_REFUND_NO.test(text)) {
    throw new WechatPayRequestError(field, 'must be 1 to 64 of 0-9 A-Z a-z _ - | * @');
  }
  return text;
}

/** Exactly one of two order references, as refund and refundquery name orders. */
function orderReference(request: {
  outTradeNo?: unknown;
  transactionId?: unknown;
}): { out_trade_no: string } | { transaction_id: string } {
  const hasOutTradeNo = request.outTradeNo !== undefined;
  const hasTransactionId = request.transactionId !== undefined;
  if (hasOutTradeNo && hasTransactionId) {
    throw new WechatPayRequestError('transactionId', 'must not be given together with outTradeNo');
  }
  if (hasTransactionId) return { transaction_id: validateTransactionId(request.transactionId) };
  if (!hasOutTradeNo) {
    throw new WechatPayRequestError('outTradeNo', 'outTradeNo or transactionId is required');
  }
  return { out_trade_no: validateOutTradeNo(request.outTradeNo) };
}

/**
 * A refund: the order (one reference), our refund number, the order total and the refund in
 * integer fen (0 < refundFee <= totalFee <= MAX_FEN), and the optional description, notify URL
 * and fund account.
 */
export function validateRefundRequest(request: RefundRequest): RefundFields {
  requireObject(request);
  const fields: RefundFields = {
    ...orderReference(request),
    out_refund_no: validateOutRefundNo(request.outRefundNo),
    total_fee: validateTotalFee(request.totalFee),
    refund_fee: validateTotalFee(request.refundFee, 'refundFee'),
  };
  if (fields.refund_fee > fields.total_fee) {
    throw new WechatPayRequestError('refundFee', 'must not exceed totalFee');
  }
  const refundDesc = optionalText(request.refundDesc, 'refundDesc', 80);
  if (refundDesc !== undefined) fields.refund_desc = refundDesc;
  if (request.notifyUrl !== undefined) fields.notify_url = validateNotifyUrl(request.notifyUrl);
  if (request.refundAccount !== undefined) {
    if (!REFUND_ACCOUNTS.includes(request.refundAccount)) {
      throw new WechatPayRequestError(
        'refundAccount',
        `must be one of ${REFUND_ACCOUNTS.join(', ')}`,
      );
    }
    fields.refund_account = request.refundAccount;
  }
  return fields;
}

export type RefundQueryFields = (
  | { refund_id: string }
  | { out_refund_no: string }
  | { transaction_id: string }
  | { out_trade_no: string }
) & { offset?: number };

const REFUND_QUERY_KEYS = ['refundId', 'outRefundNo', 'transactionId', 'outTradeNo'] as const;

/** Exactly one reference, and an optional offset (a non-negative integer). */
export function validateRefundQueryRequest(request: RefundQueryRequest): RefundQueryFields {
  requireObject(request);
  const given = REFUND_QUERY_KEYS.filter(
    (key) => (request as Record<string, unknown>)[key] !== undefined,
  );
  if (given.length !== 1) {
    throw new WechatPayRequestError(
      given[1] ?? 'refundId',
      'give exactly one of refundId, outRefundNo, transactionId and outTradeNo',
    );
  }
  const value = (request as Record<string, unknown>)[given[0]];
  let fields: RefundQueryFields;
  if (given[0] === 'refundId') {
    const text = requiredText(value, 'refundId', 32);
    if (!REFUND_ID.test(text))
      throw new WechatPayRequestError('refundId', 'must be 1 to 32 digits');
    fields = { refund_id: text };
  } else if (given[0] === 'outRefundNo') {
    fields = { out_refund_no: validateOutRefundNo(value) };
  } else if (given[0] === 'transactionId') {
    fields = { transaction_id: validateTransactionId(value) };
  } else {
    fields = { out_trade_no: validateOutTradeNo(value) };
  }
  if (request.offset !== undefined) {
    if (!Number.isSafeInteger(request.offset) || request.offset < 0) {
      throw new WechatPayRequestError('offset', 'must be a non-negative integer');
    }
    fields.offset = request.offset;
  }
  return fields;
}

const BILL_TYPES: readonly BillType[] = ['ALL', 'SUCCESS', 'REFUND', 'RECHARGE_REFUND'];
const BILL_DATE = /^\d{8}$/;

export type BillFields = {
  bill_date: string;
  bill_type: BillType;
  tar_type?: 'GZIP';
};

/** A real Beijing calendar date (`yyyyMMdd` or a Date), a bill type, and GZIP or nothing. */
export function validateBillRequest(request: DownloadBillRequest): BillFields {
  requireObject(request);
  let billDate: string;
  if (request.billDate instanceof Date) {
    if (Number.isNaN(request.billDate.getTime())) {
      throw new WechatPayRequestError('billDate', 'must be a valid Date');
    }
    billDate = formatBeijingTime(request.billDate).slice(0, 8);
  } else if (typeof request.billDate === 'string' && BILL_DATE.test(request.billDate)) {
    if (parseBeijingTime(`${request.billDate}000000`) === undefined) {
      throw new WechatPayRequestError('billDate', 'must be a real date as yyyyMMdd');
    }
    billDate = request.billDate;
  } else {
    throw new WechatPayRequestError('billDate', 'must be a yyyyMMdd string or a Date');
  }
  const billType = request.billType ?? 'ALL';
  if (!BILL_TYPES.includes(billType)) {
    throw new WechatPayRequestError('billType', `must be one of ${BILL_TYPES.join(', ')}`);
  }
  if (request.tarType !== undefined && request.tarType !== 'GZIP') {
    throw new WechatPayRequestError('tarType', 'must be GZIP when given');
  }
  return {
    bill_date: billDate,
    bill_type: billType,
    ...(request.tarType !== undefined ? { tar_type: request.tarType } : {}),
  };
}
