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
  | 'NO_HANDLER'
  | 'HANDLER_FAILED'
  | 'INTERNAL_ERROR';

/**
 * The outcome of `handle()`. `reply` is the XML body to send with HTTP 200 and `text/xml`. An
 * accepted notification without `event` is a verified `result_code=FAIL` one: acknowledged, not
 * handled.
 */
export interface NotifyResult {
  accepted: boolean;
  reason?: NotifyRejectReason;
  reply: string;
  event?: PaymentNotification;
}

/** A host method decorated with `@WechatPayNotifyHandler()`. */
export type PaymentNotificationHandler = (event: PaymentNotification) => Promise<void> | void;
