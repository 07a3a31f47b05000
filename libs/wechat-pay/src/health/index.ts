/**
 * `nestjs-wechat-pay-v2/health`: a `@nestjs/terminus` health indicator for WeChat Pay. Only this
 * subpath needs `@nestjs/terminus` (an optional peer dependency).
 */
export {
  WECHAT_PAY_HEALTH_OPTIONS,
  WechatPayHealthIndicator,
  WechatPayHealthModule,
  type WechatPayHealthOptions,
  type WechatPayProbeState,
} from './wechat-pay.health';
