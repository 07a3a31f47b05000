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
export { SIGN_TYPES, isSignType, type SignType } from './signer/sign';
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
