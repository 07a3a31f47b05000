/**
 * Helpers for a host app's own tests: build correctly signed payment notifications and encrypted
 * refund notifications, and read the reply a notify route sent. Not for production code paths.
 *
 * They take the API key as an argument because they play WeChat's side, which holds the merchant
 * key too; a test passes the (test) key it configured the module with. Nothing in a host's
 * production code needs them, and the module itself never hands its key out.
 */
import { WechatPayProtocolError, WechatPayRequestError } from '../errors/errors';
import { createNonce, sign, type SignType } from '../signer/sign';
import { formatBeijingTime } from '../util/beijing-time';
import { encryptReqInfo } from '../refund/req-info';
import { isFen } from '../util/money';
import { buildXml, parseXml } from '../xml/xml-codec';

/** A field value for building notifications; `undefined` or `null` removes the field. */
export type NotificationFieldValue = string | number | null | undefined;

export interface PaymentNotificationOptions {
  /** The merchant's 32-character API key the notification is signed with. */
  apiKey: string;
  appId: string;
  mchId: string;
  /** Default: a fresh `TEST…` order number, unique within the process. */
  outTradeNo?: string;
  /** Default: a 28-digit id. */
  transactionId?: string;
  /** Fen. Default 1. */
  totalFee?: number;
  /** Fen. Default: `totalFee`. */
  cashFee?: number;
  /** Default `oTestOpenid0000000000000000`. */
  openid?: string;
  /** Beijing `yyyyMMddHHmmss` or a Date. Default: now. */
  timeEnd?: string | Date;
  attach?: string;
  /** Default `JSAPI`. */
  tradeType?: string;
  /** Default `CFT`. */
  bankType?: string;
  /** Default `CNY`. */
  feeType?: string;
  /** Default `SUCCESS`. */
  resultCode?: string;
  /** Algorithm of the signature. Default `MD5`. */
  signType?: SignType;
  /**
   * Whether the notification carries `sign_type`. Default: true for HMAC-SHA256 and false for MD5,
   * which is how WeChat sends them.
   */
  includeSignType?: boolean;
  /** Added or replacing fields before signing; `undefined`/`null` removes a field. */
  fields?: Readonly<Record<string, NotificationFieldValue>>;
  /** Added or replacing fields after signing, to build tampered notifications. */
  afterSigning?: Readonly<Record<string, NotificationFieldValue>>;
  /** Replaces the computed signature; `null` sends no `sign` at all. */
  sign?: string | null;
}

export interface BuiltPaymentNotification {
  /** The XML body, as WeChat would POST it. */
  xml: string;
  /** Every field in the body, `sign` included. */
  fields: Record<string, string>;
}

let orderCounter = 0;

function applyFields(
  target: Record<string, string>,
  changes: Readonly<Record<string, NotificationFieldValue>>,
) {
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined || value === null) delete target[name];
    else target[name] = String(value);
  }
}

function fen(name: string, value: number): string {
  if (!isFen(value)) {
    throw new WechatPayRequestError(name, 'must be an integer number of fen from 0 to MAX_FEN');
  }
  return String(value);
}

/** A signed payment notification with realistic defaults for every required field. */
export function buildPaymentNotification(
  options: PaymentNotificationOptions,
): BuiltPaymentNotification {
  const signType = options.signType ?? 'MD5';
  const includeSignType = options.includeSignType ?? signType === 'HMAC-SHA256';
  const totalFee = options.totalFee ?? 1;
  orderCounter += 1;
  const timeEnd =
    options.timeEnd instanceof Date
      ? formatBeijingTime(options.timeEnd)
      : (options.timeEnd ?? formatBeijingTime(new Date()));

  const fields: Record<string, string> = {
    return_code: 'SUCCESS',
    appid: options.appId,
    mch_id: options.mchId,
    nonce_str: createNonce(),
    result_code: options.resultCode ?? 'SUCCESS',
    openid: options.openid ?? 'oTestOpenid0000000000000000',
    is_subscribe: 'N',
    trade_type: options.tradeType ?? 'JSAPI',
    bank_type: options.bankType ?? 'CFT',
    total_fee: fen('totalFee', totalFee),
    fee_type: options.feeType ?? 'CNY',
    cash_fee: fen('cashFee', options.cashFee ?? totalFee),
    transaction_id: options.transactionId ?? '4200000000202401010000000001',
    out_trade_no: options.outTradeNo ?? `TEST${Date.now()}${String(orderCounter).padStart(4, '0')}`,
    time_end: timeEnd,
  };
  if (options.attach !== undefined) fields.attach = options.attach;
  if (includeSignType) fields.sign_type = signType;
  applyFields(fields, options.fields ?? {});

  if (options.sign === undefined) fields.sign = sign(fields, options.apiKey, signType);
  else if (options.sign !== null) fields.sign = options.sign;
  else delete fields.sign;
  applyFields(fields, options.afterSigning ?? {});

  return { xml: buildXml(fields), fields };
}

export interface RefundNotificationOptions {
  /** The merchant's API key: req_info is encrypted with its MD5, as WeChat does. */
  apiKey: string;
  appId: string;
  mchId: string;
  /** Default: a fresh `TESTR…` number. */
  outRefundNo?: string;
  /** Default: a 29-digit id. */
  refundId?: string;
  /** Default: a fresh `TEST…` order number. */
  outTradeNo?: string;
  /** Default: a 28-digit id. */
  transactionId?: string;
  /** Fen. Default 1. */
  totalFee?: number;
  /** Fen. Default: `totalFee`. */
  refundFee?: number;
  /** Default `SUCCESS`. */
  refundStatus?: string;
  /** `yyyy-MM-dd HH:mm:ss` Beijing time or a Date; sent for SUCCESS only. Default: now. */
  successTime?: string | Date;
  /** Default `支付用户零钱`. */
  refundRecvAccount?: string;
  /** Added or replacing fields of the decrypted `<root>` document; `null` removes one. */
  reqInfoFields?: Readonly<Record<string, NotificationFieldValue>>;
  /** Added or replacing outer fields (after encryption); `null` removes one. */
  fields?: Readonly<Record<string, NotificationFieldValue>>;
  /** Encrypt with this key instead (a forgery: the route must refuse it). */
  encryptWithKey?: string;
}

export interface BuiltRefundNotification {
  /** The outer XML body, as WeChat would POST it. */
  xml: string;
  /** The outer fields, `req_info` included. */
  fields: Record<string, string>;
  /** The decrypted document (`<root>...</root>`). */
  plaintext: string;
  /** The fields of the decrypted document. */
  reqInfoFields: Record<string, string>;
}

let refundCounter = 0;

function dashedBeijingTime(date: Date): string {
  const t = formatBeijingTime(date);
  return `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)} ${t.slice(8, 10)}:${t.slice(10, 12)}:${t.slice(12, 14)}`;
}

/**
 * A refund notification as WeChat sends one: no `sign`; `req_info` is the `<root>` document
 * encrypted with AES-256-ECB under the lower-case hex MD5 of the API key.
 */
export function buildRefundNotification(
  options: RefundNotificationOptions,
): BuiltRefundNotification {
  refundCounter += 1;
  const totalFee = options.totalFee ?? 1;
  const status = options.refundStatus ?? 'SUCCESS';
  const successTime =
    options.successTime instanceof Date
      ? dashedBeijingTime(options.successTime)
      : (options.successTime ?? dashedBeijingTime(new Date()));
  const inner: Record<string, string> = {
    out_refund_no:
      options.outRefundNo ?? `TESTR${Date.now()}${String(refundCounter).padStart(4, '0')}`,
    out_trade_no:
      options.outTradeNo ?? `TEST${Date.now()}${String(refundCounter).padStart(4, '0')}`,
    refund_account: 'REFUND_SOURCE_RECHARGE_FUNDS',
    refund_fee: fen('refundFee', options.refundFee ?? totalFee),
    refund_id: options.refundId ?? '50000000002024010100000000001',
    refund_recv_accout: options.refundRecvAccount ?? '支付用户零钱',
    refund_request_source: 'API',
    refund_status: status,
    settlement_refund_fee: fen('refundFee', options.refundFee ?? totalFee),
    settlement_total_fee: fen('totalFee', totalFee),
    total_fee: fen('totalFee', totalFee),
    transaction_id: options.transactionId ?? '4200000000202401010000000001',
  };
  if (status === 'SUCCESS') inner.success_time = successTime;
  applyFields(inner, options.reqInfoFields ?? {});
  const plaintext = buildXml(inner, 'root');
  const fields: Record<string, string> = {
    return_code: 'SUCCESS',
    appid: options.appId,
    mch_id: options.mchId,
    nonce_str: createNonce(),
    req_info: encryptReqInfo(plaintext, options.encryptWithKey ?? options.apiKey),
  };
  applyFields(fields, options.fields ?? {});
  return { xml: buildXml(fields), fields, plaintext, reqInfoFields: inner };
}

export interface NotifyReply {
  returnCode: string;
  /** Undefined when the reply has no `return_msg`. */
  returnMsg?: string;
}

/** Reads a notify reply body (`<xml><return_code>…</return_code><return_msg>…</return_msg></xml>`). */
export async function parseNotifyReply(xml: string): Promise<NotifyReply> {
  const fields = await parseXml(xml);
  if (fields.return_code === undefined) {
    throw new WechatPayProtocolError('the reply has no return_code', xml);
  }
  const reply: NotifyReply = { returnCode: fields.return_code };
  if (fields.return_msg !== undefined) reply.returnMsg = fields.return_msg;
  return reply;
}
