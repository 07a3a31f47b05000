import type { SignType } from '../signer/sign';

/** A JSAPI (mini-program) order. Amounts are integer fen; times are Beijing `yyyyMMddHHmmss` or a Date. */
export interface UnifiedOrderRequest {
  /** Merchant order number: 6-32 of `0-9 A-Z a-z _ - | *`. */
  outTradeNo: string;
  /** Goods description, at most 127 characters. */
  body: string;
  /** Amount in fen: an integer from 1 to MAX_FEN. */
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

/** The states in which the order was paid: REFUND means paid, then (partly) refunded. */
export type PaidTradeState = Extract<TradeState, 'SUCCESS' | 'REFUND'>;
export type UnpaidTradeState = Exclude<TradeState, PaidTradeState>;

interface OrderQueryAnswer {
  /** WeChat's description and next-step hint (`支付成功`, `订单未支付`...). */
  tradeStateDesc: string;
  outTradeNo: string;
  /** The appid and mch_id the signed answer names (checked to be the configured ones). */
  appId: string;
  mchId: string;
  attach?: string;
  /** Every field of the verified response. */
  raw: Readonly<Record<string, string>>;
}

/** A paid order: everything needed to record the payment is always there. */
export interface PaidOrderQueryResult extends OrderQueryAnswer {
  tradeState: PaidTradeState;
  /** WeChat's order id (28 digits today): keep it a string. */
  transactionId: string;
  /** Order amount in fen, 0 to MAX_FEN. */
  totalFee: number;
  /** Amount paid in cash, in fen (total minus coupons). */
  cashFee: number;
  /** Payment time, Beijing `yyyyMMddHHmmss`. */
  timeEnd: string;
  /** The payer's openid under the configured appid. */
  openid: string;
  tradeType?: string;
  bankType?: string;
  feeType?: string;
}

/** An order not (or not yet) paid. WeChat may still report some payment fields: they are kept. */
export interface UnpaidOrderQueryResult extends OrderQueryAnswer {
  tradeState: UnpaidTradeState;
  transactionId?: string;
  totalFee?: number;
  cashFee?: number;
  timeEnd?: string;
  openid?: string;
  tradeType?: string;
  bankType?: string;
  feeType?: string;
}

/** What orderquery reports, discriminated by `tradeState`. */
export type OrderQueryResult = PaidOrderQueryResult | UnpaidOrderQueryResult;

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

export interface RequestOptions {
  /** Overrides the configured read timeout for this call. */
  readTimeoutMs?: number;
}
