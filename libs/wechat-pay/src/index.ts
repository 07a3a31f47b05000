/**
 * `nestjs-wechat-pay-v2`: what a NestJS host app uses. Low-level protocol helpers (signing with a
 * raw key, the XML codec, req_info decryption) are in `nestjs-wechat-pay-v2/protocol`, test
 * helpers in `nestjs-wechat-pay-v2/testing`, the terminus health indicator in
 * `nestjs-wechat-pay-v2/health`.
 */
export { WechatPayModule } from './wechat-pay.module';
export {
  type WechatPayModuleAsyncOptions,
  type WechatPayModuleExtras,
  type WechatPayModuleForRootOptions,
  type WechatPayOptionsFactory,
} from './wechat-pay.module-definition';
export { DEFAULT_NOTIFY_PATH, DEFAULT_REFUND_NOTIFY_PATH } from './wechat-pay.constants';
export { WechatPayConfig, type WechatPayModuleOptions } from './config/wechat-pay.options';
export { SIGN_TYPES, type SignType } from './signer/sign';
export { WechatPaySigner } from './signer/signer.service';
export { MAX_FEN } from './util/money';

export {
  WechatPayGateway,
  type DownloadBillStreamResult,
  type FoundBillStream,
} from './gateway/gateway.service';
export type {
  RefundAccount,
  RefundCoupon,
  RefundQueryFound,
  RefundQueryItem,
  RefundQueryNotFound,
  RefundQueryRequest,
  RefundQueryResult,
  RefundRequest,
  RefundResult,
  RefundStatus,
} from './refund/refund.types';
export type {
  BillRow,
  BillSummary,
  BillType,
  DownloadBillRequest,
  DownloadBillResult,
  FoundBill,
  NoBill,
  ParsedBill,
} from './bill/bill.types';
export type { BillStream } from './bill/bill-parser';
export type { MerchantCertificateInfo } from './config/certificate';
export type {
  CloseOrderResult,
  OrderQueryRequest,
  OrderQueryResult,
  PaidOrderQueryResult,
  PaidTradeState,
  PayParams,
  RequestOptions,
  TradeState,
  UnifiedOrderRequest,
  UnifiedOrderResult,
  UnpaidOrderQueryResult,
  UnpaidTradeState,
} from './gateway/gateway.types';
export {
  WechatPayTransport,
  type TransportRequestOptions,
  type TransportResponse,
  type TransportStream,
} from './gateway/transport';

export { WechatLoginService } from './login/login.service';
export type { Code2SessionResult } from './login/login.types';

export { WechatPayNotifyService } from './notify/notify.service';
export { WechatPayNotifyHandler, WechatPayRefundHandler } from './notify/notify.decorator';
export { notifyReply } from './notify/notify-reply';
export type {
  FailedPaymentNotification,
  NotifyRejectReason,
  NotifyResult,
  PaymentNotification,
  PaymentNotificationHandler,
  RefundNotification,
  RefundNotificationHandler,
  RefundNotificationStatus,
  RefundNotifyResult,
  VerifiedNotification,
} from './notify/notify.types';

export type {
  WechatPayGatewayCallEvent,
  WechatPayHooks,
  WechatPayNotificationEvent,
} from './hooks/hooks';

export {
  RETRYABLE_ERR_CODES,
  WechatPayBusinessError,
  WechatPayConfigError,
  WechatPayDecryptionError,
  WechatPayError,
  WechatPayNotifyError,
  WechatPayProtocolError,
  WechatPayRequestError,
  WechatPayReturnError,
  WechatPaySignatureError,
  WechatPayTransportError,
  WechatPayXmlError,
  type TransportFailure,
  type WechatPayErrorCode,
  type XmlErrorReason,
} from './errors/errors';
export { WechatPayLoginError } from './login/login.errors';
