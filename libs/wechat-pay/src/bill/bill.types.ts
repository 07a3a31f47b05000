/** The bill types of downloadbill. */
export type BillType = 'ALL' | 'SUCCESS' | 'REFUND' | 'RECHARGE_REFUND';

export interface DownloadBillRequest {
  /** The Beijing calendar day, `yyyyMMdd` (or a Date, whose Beijing date is used). */
  billDate: string | Date;
  /** Default `ALL`. */
  billType?: BillType;
  /** `GZIP` asks WeChat for a gzip body (smaller on the wire); the rows are the same. */
  tarType?: 'GZIP';
}

/**
 * One record of a trade bill. Amounts are integer fen read exactly from the yuan text; the fee
 * (`手续费`, yuan with five decimals) is integer milli-fen (1 fen = 1000 milli-fen) so nothing is
 * rounded; ids stay strings exactly as written (`0` where WeChat writes `0`, as in the refund
 * columns of a payment row). Fields of columns a layout lacks are absent: SUCCESS bills have no
 * refund columns, older bills no `totalFee`, `refundApplyFee` or `rateRemark`, only REFUND bills
 * `refundApplyTime` and `refundSuccessTime`. An empty amount or time is absent too.
 */
export interface BillRow {
  /** 交易时间 (Beijing time). */
  tradeTime: Date;
  /** 公众账号ID */
  appId: string;
  /** 商户号 */
  mchId: string;
  /** 特约商户号 (older bills: 子商户号); `0` for a merchant's own trades. */
  subMchId?: string;
  /** 设备号 */
  deviceInfo?: string;
  /** 微信订单号 */
  transactionId: string;
  /** 商户订单号 */
  outTradeNo: string;
  /** 用户标识 (openid) */
  openid?: string;
  /** 交易类型 (JSAPI, NATIVE...) */
  tradeType?: string;
  /** 交易状态: SUCCESS, REFUND (a refund row of an ALL bill)... */
  tradeState: string;
  /** 付款银行 */
  bankType?: string;
  /** 货币种类 */
  feeType?: string;
  /** 应结订单金额 (older bills: 总金额), fen. */
  settlementTotalFee: number;
  /** 代金券金额 (older bills: 企业红包金额), fen. */
  couponFee?: number;
  /** 退款申请时间 (REFUND bills). */
  refundApplyTime?: Date;
  /** 退款成功时间 (REFUND bills; absent while the refund is processing). */
  refundSuccessTime?: Date;
  /** 微信退款单号 */
  refundId?: string;
  /** 商户退款单号 */
  outRefundNo?: string;
  /** 退款金额, fen. */
  refundFee?: number;
  /** 充值券退款金额 (older bills: 企业红包退款金额), fen. */
  rechargeCouponRefundFee?: number;
  /** 退款类型 (ORIGINAL...) */
  refundType?: string;
  /** 退款状态 (SUCCESS, PROCESSING...) */
  refundStatus?: string;
  /** 商品名称, commas included. */
  body?: string;
  /** 商户数据包, commas included. */
  attach?: string;
  /** 手续费 in milli-fen (yuan × 100000); negative on refund rows where WeChat returns the fee. */
  feeMilliFen: number;
  /** 费率 as written, e.g. `0.60%`. */
  rate?: string;
  /** 订单金额, fen (current layout). */
  totalFee?: number;
  /** 申请退款金额, fen (current layout). */
  refundApplyFee?: number;
  /** 费率备注 */
  rateRemark?: string;
  /** Every value by its column name, backtick removed: columns this type does not name included. */
  raw: Readonly<Record<string, string>>;
}

/** The summary line. Amounts in fen, the fee total in milli-fen. */
export interface BillSummary {
  /** 总交易单数 */
  totalCount: number;
  /** 应结订单总金额 (older bills: 总交易额) */
  settlementTotalFee?: number;
  /** 退款总金额 (older bills: 总退款金额) */
  refundFee?: number;
  /** 充值券退款总金额 (older bills: 总企业红包退款金额 or 总代金券或立减优惠退款金额) */
  rechargeCouponRefundFee?: number;
  /** 手续费总金额, milli-fen. */
  feeMilliFen?: number;
  /** 订单总金额 */
  totalFee?: number;
  /** 申请退款总金额 */
  refundApplyFee?: number;
  raw: Readonly<Record<string, string>>;
}

/** A whole bill parsed in memory. */
export interface ParsedBill {
  /** The header's column names, in order. */
  columns: readonly string[];
  rows: BillRow[];
  summary: BillSummary;
}

/** downloadbill found a bill: every row, and the summary. */
export interface FoundBill extends ParsedBill {
  found: true;
  billDate: string;
  billType: BillType;
}

/**
 * WeChat has no bill for that day: `No Bill Exist` (in any casing, with or without
 * `error_code` 20002), which it answers for a day without trades.
 */
export interface NoBill {
  found: false;
  billDate: string;
  billType: BillType;
  /** WeChat's text, e.g. `No Bill Exist`. */
  returnMsg: string;
  /** `error_code` when WeChat sent one (20002). */
  errorCode?: string;
}

export type DownloadBillResult = FoundBill | NoBill;
