import type { SignType } from '../signer/sign';

/**
 * A verified payment notification (`result_code=SUCCESS`) as handed to host handlers. Amounts are
 * integer fen (0 to MAX_FEN); ids stay strings exactly as sent. The host must still check
 * `totalFee` against its own order and treat repeats idempotently: WeChat delivers the same
 * notification many times.
 */
export interface PaymentNotification {
  resultCode: 'SUCCESS';
  /** The appid and mch_id the notification names (verified to be the configured ones). */
  appId: string;
  mchId: string;
  outTradeNo: string;
  /** WeChat's order id (28 digits today): keep it a string. */
  transactionId: string;
  /** Order amount in fen. */
  totalFee: number;
  /** Amount the payer actually paid in cash, in fen (total minus coupons). */
  cashFee: number;
  /** The payer's openid under the configured appid. */
  openid: string;
  /** Payment time, Beijing `yyyyMMddHHmmss`. */
  timeEnd: string;
  attach?: string;
  tradeType: string;
  bankType: string;
  feeType?: string;
  /** The algorithm the signature verified with. */
  signType: SignType;
  /** Every field received, `sign` and fields this type does not name (coupons, sub-merchant ids) included. */
  raw: Readonly<Record<string, string>>;
}

/**
 * A verified notification with `result_code=FAIL`. WeChat notifies paid orders only, so it carries
 * no payment to record; it is acknowledged, and no handler is called.
 */
export interface FailedPaymentNotification {
  resultCode: 'FAIL';
  appId: string;
  mchId: string;
  outTradeNo?: string;
  errCode?: string;
  errCodeDes?: string;
  signType: SignType;
  raw: Readonly<Record<string, string>>;
}

/** What `WechatPayNotifyService.verify()` returns, discriminated by `resultCode`. */
export type VerifiedNotification = PaymentNotification | FailedPaymentNotification;

/** Why a notification was answered with `FAIL` (WeChat then re-sends it on its retry schedule). */
export type NotifyRejectReason =
  | 'EMPTY_BODY'
  | 'BODY_TOO_LARGE'
  | 'INCOMPLETE_BODY'
  | 'UNSUPPORTED_BODY'
  | 'INVALID_XML'
  | 'RETURN_CODE_FAIL'
  | 'MISSING_SIGNATURE'
  | 'BAD_SIGNATURE'
  | 'APPID_MISMATCH'
  | 'MCH_ID_MISMATCH'
  | 'MISSING_FIELD'
  | 'INVALID_FIELD'
  | 'DECRYPTION_FAILED'
  | 'NO_HANDLER'
  | 'HANDLER_FAILED'
  | 'INTERNAL_ERROR';

/**
 * The outcome of `handle()`. `reply` is the XML body to send with HTTP 200 and `text/xml`. An
 * accepted notification without `event` is a verified `result_code=FAIL` one: acknowledged, not
 * handled.
 */
export interface NotifyResult<E = PaymentNotification> {
  accepted: boolean;
  reason?: NotifyRejectReason;
  reply: string;
  event?: E;
}

/** A host method decorated with `@WechatPayNotifyHandler()`. */
export type PaymentNotificationHandler = (event: PaymentNotification) => Promise<void> | void;

/** What a refund notification reports: SUCCESS (paid out), CHANGE (abnormal) or REFUNDCLOSE. */
export type RefundNotificationStatus = 'SUCCESS' | 'CHANGE' | 'REFUNDCLOSE';

/**
 * A refund notification whose `req_info` decrypted with the merchant key, for the configured
 * appid and mch_id. Amounts are integer fen; ids stay strings. WeChat signs nothing here: the
 * encryption is the only proof it came from WeChat, so check the refund against your own record
 * (out_refund_no, amounts) before acting, and treat repeats idempotently.
 */
export interface RefundNotification {
  appId: string;
  mchId: string;
  refundStatus: RefundNotificationStatus;
  outRefundNo: string;
  /** WeChat's refund id (29 digits today). */
  refundId: string;
  outTradeNo: string;
  transactionId: string;
  /** The order's total, fen. */
  totalFee: number;
  /** The refund requested, fen. */
  refundFee: number;
  settlementTotalFee?: number;
  /** The refund minus non-top-up coupons, fen. */
  settlementRefundFee?: number;
  /** When it succeeded (SUCCESS only), as WeChat writes it: `yyyy-MM-dd HH:mm:ss`, Beijing time. */
  successTime?: string;
  successAt?: Date;
  /** Where the money went (`refund_recv_accout`, WeChat's spelling), e.g. `支付用户零钱`. */
  refundRecvAccount?: string;
  refundAccount?: string;
  /** `API` or `VENDOR_PLATFORM` (a refund made in the merchant platform). */
  refundRequestSource?: string;
  /** Every decrypted field of `<root>`, names WeChat may add later included. */
  raw: Readonly<Record<string, string>>;
  /** The outer fields (appid, mch_id, nonce_str, req_info...). */
  envelope: Readonly<Record<string, string>>;
}

/** A host method decorated with `@WechatPayRefundHandler()`. */
export type RefundNotificationHandler = (event: RefundNotification) => Promise<void> | void;

/** What the refund route's `handleRefund()` returns. */
export type RefundNotifyResult = NotifyResult<RefundNotification>;

/** Which notification route: the payment one or the refund one. */
export type NotificationKind = 'payment' | 'refund';
