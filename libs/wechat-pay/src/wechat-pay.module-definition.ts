import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import {
  resolveWechatPayConfig,
  WechatPayConfig,
  type WechatPayModuleOptions,
} from './config/wechat-pay.options';
import { createNotifyController } from './notify/notify.controller';

/** Options that shape the module itself rather than the merchant account. */
export interface WechatPayModuleExtras {
  /** Register the module globally (default true). */
  isGlobal: boolean;
  /** Mount the notify controller (default true). When false, call WechatPayNotifyService from your own route. */
  notifyController: boolean;
  /** Route of the notify controller (default `wechat-pay/notify`). */
  notifyPath: string;
}

export const DEFAULT_NOTIFY_PATH = 'wechat-pay/notify';

export const {
  ConfigurableModuleClass: WechatPayConfigurableModule,
  MODULE_OPTIONS_TOKEN: WECHAT_PAY_MODULE_OPTIONS,
  OPTIONS_TYPE: WECHAT_PAY_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: WECHAT_PAY_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<WechatPayModuleOptions>({ moduleName: 'WechatPay' })
  .setClassMethodName('forRoot')
  .setExtras<WechatPayModuleExtras>(
    { isGlobal: true, notifyController: true, notifyPath: DEFAULT_NOTIFY_PATH },
    (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
      // The controller class is made per module instance so its path can be configured without
      // rewriting route metadata on a shared class.
      controllers: extras.notifyController ? [createNotifyController(extras.notifyPath)] : [],
    }),
  )
  .build();

/** Validates the options once, at bootstrap, into the frozen config every service injects. */
export const wechatPayConfigProvider: Provider = {
  provide: WechatPayConfig,
  useFactory: (options: WechatPayModuleOptions) => resolveWechatPayConfig(options),
  inject: [WECHAT_PAY_MODULE_OPTIONS],
};
