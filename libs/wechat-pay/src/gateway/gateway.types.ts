import type { SignType } from '../signer/sign';

/** A JSAPI (mini-program) order. Amounts are integer fen; times are Beijing `yyyyMMddHHmmss` or a Date. */
export interface UnifiedOrderRequest {
  /** Merchant order number: 6-32 of `0-9 A-Z a-z _ - | *`. */
  outTradeNo: string;
  /** Goods description, at most 127 characters. */
  body: string;
  /** Amount in fen: a positive safe integer. */
  totalFee: number;
  /** Currency; only `CNY` exists for domestic merchants. Sent only when given. */
  feeType?: 'CNY';
  /** The payer's openid under this appid (from jscode2session). */
  openid: string;
  /** The IP of the machine calling the API (or the user's client IP). */
  spbillCreateIp: string;
  /** Overrides the configured notifyUrl: absolute, no query string. */
  notifyUrl?: string;
  /** Merchant data echoed back in orderquery and the notification, at most 127 characters. */
  attach?: string;
  /** Single-item discount JSON, at most 6000 characters. */
  detail?: string;
  deviceInfo?: string;
  goodsTag?: string;
  limitPay?: 'no_credit';
  timeStart?: string | Date;
  /** When the order number expires; at least 5 minutes after timeStart (or now). */
  timeExpire?: string | Date;
  /** Overrides the configured sign type for this order (and its pay parameters). */
  signType?: SignType;
}

export interface UnifiedOrderResult {
  prepayId: string;
  tradeType: string;
  /** The algorithm the order was signed with: the pay parameters must use the same. */
  signType: SignType;
  /** Every field of the verified response. */
  raw: Readonly<Record<string, string>>;
}

export type OrderQueryRequest =
  | { outTradeNo: string; transactionId?: undefined }
  | { transactionId: string; outTradeNo?: undefined };

export type TradeState =
  'SUCCESS' | 'REFUND' | 'NOTPAY' | 'CLOSED' | 'REVOKED' | 'USERPAYING' | 'PAYERROR';

export interface OrderQueryResult {
  tradeState: TradeState;
  tradeStateDesc: string;
  outTradeNo: string;
  transactionId?: string;
  /** Integer fen, when WeChat reports it. */
  totalFee?: number;
  cashFee?: number;
  openid?: string;
  tradeType?: string;
  bankType?: string;
  /** Payment time, Beijing `yyyyMMddHHmmss`, once paid. */
  timeEnd?: string;
  attach?: string;
  raw: Readonly<Record<string, string>>;
}

export interface CloseOrderResult {
  raw: Readonly<Record<string, string>>;
}

/** What the mini-program passes to `wx.requestPayment`. Every value is a string, `timeStamp` included. */
export interface PayParams {
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: SignType;
  paySign: string;
}

export interface Code2SessionResult {
  openid: string;
  /** Keep on the server; never send it to the client or a log. */
  sessionKey: string;
  unionid?: string;
}

export interface RequestOptions {
  /** Overrides the configured read timeout for this call. */
  readTimeoutMs?: number;
}
