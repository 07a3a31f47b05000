import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import {
  resolveWechatPayConfig,
  WechatPayConfig,
  type WechatPayModuleOptions,
} from './config/wechat-pay.options';
import { WechatPayConfigError } from './errors/errors';
import { createNotifyController } from './notify/notify.controller';
import { NotifyRouteInstaller } from './notify/notify-route.installer';
import {
  DEFAULT_NOTIFY_PATH,
  DEFAULT_REFUND_NOTIFY_PATH,
  WECHAT_PAY_MODULE_OPTIONS,
  WECHAT_PAY_NOTIFY_ROUTES,
} from './wechat-pay.constants';

/** Options that shape the module itself rather than the merchant account. */
export interface WechatPayModuleExtras {
  /** Register the module globally (default true). */
  isGlobal: boolean;
  /** Mount the notify route (default true). When false, call WechatPayNotifyService from your own route. */
  notifyController: boolean;
  /** Route of the notify controller (default `wechat-pay/notify`): a literal path, no parameters. */
  notifyPath: string;
  /**
   * Mount the refund notify route (default true). When false, call
   * WechatPayNotifyService.verifyRefund/dispatchRefund (or handleRefund) from your own route.
   */
  refundNotifyController: boolean;
  /** Route of the refund notify controller (default `wechat-pay/refund-notify`): a literal path. */
  refundNotifyPath: string;
}

/**
 * What `useClass` and `useExisting` point at in `forRootAsync`: a provider that builds the options
 * (from ConfigService, a vault...).
 */
export interface WechatPayOptionsFactory {
  createWechatPayOptions(): Promise<WechatPayModuleOptions> | WechatPayModuleOptions;
}

/** A literal route path: letters, digits and `- . _ ~ /` only (no Express or Fastify parameters). */
const LITERAL_PATH = /^\/?[A-Za-z0-9\-._~]+(?:\/[A-Za-z0-9\-._~]+)*\/?$/;

export const {
  ConfigurableModuleClass: WechatPayConfigurableModule,
  OPTIONS_TYPE: WECHAT_PAY_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: WECHAT_PAY_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<WechatPayModuleOptions>({
  moduleName: 'WechatPay',
  optionsInjectionToken: WECHAT_PAY_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createWechatPayOptions')
  .setExtras<WechatPayModuleExtras>(
    {
      isGlobal: true,
      notifyController: true,
      notifyPath: DEFAULT_NOTIFY_PATH,
      refundNotifyController: true,
      refundNotifyPath: DEFAULT_REFUND_NOTIFY_PATH,
    },
    (definition, extras) => {
      if (extras.notifyController && !LITERAL_PATH.test(extras.notifyPath)) {
        throw new WechatPayConfigError([
          { field: 'notifyPath', problems: ['must be a literal path such as wechat-pay/notify'] },
        ]);
      }
      if (extras.refundNotifyController && !LITERAL_PATH.test(extras.refundNotifyPath)) {
        throw new WechatPayConfigError([
          {
            field: 'refundNotifyPath',
            problems: ['must be a literal path such as wechat-pay/refund-notify'],
          },
        ]);
      }
      const trimmed = (path: string) => path.replace(/^\/+|\/+$/g, '').toLowerCase();
      if (
        extras.notifyController &&
        extras.refundNotifyController &&
        trimmed(extras.notifyPath) === trimmed(extras.refundNotifyPath)
      ) {
        throw new WechatPayConfigError([
          { field: 'refundNotifyPath', problems: ['must differ from notifyPath'] },
        ]);
      }
      const routes = { payment: extras.notifyController, refund: extras.refundNotifyController };
      return {
        ...definition,
        global: extras.isGlobal,
        // The controller classes are made per module instance so their paths can be configured
        // without rewriting route metadata on a shared class.
        controllers: [
          ...(routes.payment ? [createNotifyController(extras.notifyPath, 'payment')] : []),
          ...(routes.refund ? [createNotifyController(extras.refundNotifyPath, 'refund')] : []),
        ],
        providers: [
          ...(definition.providers ?? []),
          { provide: WECHAT_PAY_NOTIFY_ROUTES, useValue: routes },
          ...(routes.payment || routes.refund ? [NotifyRouteInstaller] : []),
        ],
      };
    },
  )
  .build();

/** What `WechatPayModule.forRoot()` takes: the options and the module extras. */
export type WechatPayModuleForRootOptions = typeof WECHAT_PAY_OPTIONS_TYPE;
/** What `WechatPayModule.forRootAsync()` takes: useFactory/useClass/useExisting, imports, inject, extras. */
export type WechatPayModuleAsyncOptions = typeof WECHAT_PAY_ASYNC_OPTIONS_TYPE;

/** Validates the options once, at bootstrap, into the frozen config every service injects. */
export const wechatPayConfigProvider: Provider = {
  provide: WechatPayConfig,
  useFactory: (options: WechatPayModuleOptions) => resolveWechatPayConfig(options),
  inject: [WECHAT_PAY_MODULE_OPTIONS],
};
