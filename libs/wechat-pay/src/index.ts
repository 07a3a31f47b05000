export { WechatPayModule } from './wechat-pay.module';
export {
  DEFAULT_NOTIFY_PATH,
  WECHAT_PAY_MODULE_OPTIONS,
  type WechatPayModuleExtras,
} from './wechat-pay.module-definition';
export {
  WechatPayConfig,
  resolveWechatPayConfig,
  type WechatPayModuleOptions,
} from './config/wechat-pay.options';
export { WechatPaySigner } from './signer/signer.service';
export {
  SIGN_TYPES,
  canonicalString,
  createNonce,
  isSignType,
  sign,
  signaturesEqual,
  verify,
  type SignType,
  type SignableParams,
} from './signer/sign';
export { buildXml, parseXml, DEFAULT_MAX_XML_BYTES, type ParseXmlOptions } from './xml/xml-codec';
export { decryptReqInfo, parseReqInfo } from './refund/req-info';
export { formatBeijingTime, parseBeijingTime } from './util/beijing-time';
export * from './errors/errors';
export { WechatPayGateway } from './gateway/gateway.service';
export {
  WechatPayTransport,
  type TransportRequestOptions,
  type TransportResponse,
} from './gateway/transport';
export { buildPayParams, type BuildPayParamsInput } from './gateway/pay-params';
export type * from './gateway/gateway.types';
export {
  WechatPayNotifyService,
  buildNotifyReply,
  rejectNotification,
} from './notify/notify.service';
export { WechatPayNotifyHandler } from './notify/notify.decorator';
export { readNotifyBody, type NotifyBody, type NotifyRequest } from './notify/notify-body';
export type * from './notify/notify.types';
