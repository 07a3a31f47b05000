/** `refund_account`: which funds a refund is paid from. */
export type RefundAccount = 'REFUND_SOURCE_UNSETTLED_FUNDS' | 'REFUND_SOURCE_RECHARGE_FUNDS';

interface RefundRequestBase {
  /**
   * Our refund number: 1-64 of `0-9 A-Z a-z _ - | * @`, unique per refund. The same number with
   * the same amounts is the same refund at WeChat, so a refund in doubt is retried with it.
   */
  outRefundNo: string;
  /** The order's total in fen, as paid (1 to MAX_FEN). */
  totalFee: number;
  /** This refund in fen: 1 to totalFee. */
  refundFee: number;
  /** Shown to the payer, at most 80 characters. */
  refundDesc?: string;
  /** Where WeChat sends the refund notification; overrides the merchant platform's setting. */
  notifyUrl?: string;
  refundAccount?: RefundAccount;
}

/** A refund of an order named by our order number or by WeChat's transaction id (preferred by WeChat). */
export type RefundRequest =
  | (RefundRequestBase & { outTradeNo: string; transactionId?: undefined })
  | (RefundRequestBase & { transactionId: string; outTradeNo?: undefined });

/** A coupon's share of a refund (`coupon_*_$n`). */
export interface RefundCoupon {
  /** `CASH` or `NO_CASH`, when WeChat says. */
  type?: string;
  refundId: string;
  /** Fen. */
  refundFee: number;
}

/**
 * WeChat accepted the refund (`result_code=SUCCESS`): it is not yet paid out. The outcome comes
 * with the refund notification or refundQuery. Amounts in fen.
 */
export interface RefundResult {
  outRefundNo: string;
  /** WeChat's refund id (29 digits today): keep it a string. */
  refundId: string;
  outTradeNo: string;
  transactionId: string;
  totalFee: number;
  refundFee: number;
  settlementTotalFee?: number;
  settlementRefundFee?: number;
  cashFee?: number;
  cashRefundFee?: number;
  couponRefundFee?: number;
  coupons: RefundCoupon[];
  raw: Readonly<Record<string, string>>;
}

/** Which refunds to ask about, by precedence at WeChat: refund id, refund number, transaction id, order number. */
export type RefundQueryRequest = (
  | { refundId: string }
  | { outRefundNo: string }
  | { transactionId: string }
  | { outTradeNo: string }
) & {
  /** Pages through an order with more than 10 refunds: the index of the first one returned. */
  offset?: number;
};

export type RefundStatus = 'SUCCESS' | 'PROCESSING' | 'REFUNDCLOSE' | 'CHANGE';

/** One refund of a refundquery answer (the `_$n` fields). */
export interface RefundQueryItem {
  outRefundNo: string;
  refundId: string;
  /** SUCCESS, PROCESSING, REFUNDCLOSE (closed), CHANGE (abnormal: handle it in the merchant platform). */
  status: RefundStatus;
  /** Fen. */
  refundFee: number;
  settlementRefundFee?: number;
  couponRefundFee?: number;
  /** ORIGINAL, BALANCE, OTHER_BALANCE, OTHER_BANKCARD. */
  refundChannel?: string;
  refundAccount?: string;
  /** Where the money went (`refund_recv_accout_$n`, WeChat's spelling), e.g. `支付用户的零钱`. */
  refundRecvAccount?: string;
  /** When it succeeded, as WeChat writes it (`yyyy-MM-dd HH:mm:ss`, Beijing time). */
  successTime?: string;
  successAt?: Date;
  /** The `coupon_*_$n_$m` fields. */
  coupons: RefundCoupon[];
}

/** refundquery found refunds. */
export interface RefundQueryFound {
  found: true;
  outTradeNo: string;
  transactionId: string;
  totalFee: number;
  settlementTotalFee?: number;
  cashFee?: number;
  feeType?: string;
  /** Refunds in this answer (a page of at most 10 when offset is used). */
  refundCount: number;
  /** Every refund of the order, when WeChat reports it (answers to an `offset` query). */
  totalRefundCount?: number;
  refunds: RefundQueryItem[];
  raw: Readonly<Record<string, string>>;
}

/**
 * `REFUNDNOTEXIST`: no such refund (a wrong number, or a refund request that never reached
 * WeChat, after which retrying the refund with the same number is safe).
 */
export interface RefundQueryNotFound {
  found: false;
  errCode: 'REFUNDNOTEXIST';
  errCodeDes: string;
}

export type RefundQueryResult = RefundQueryFound | RefundQueryNotFound;
