import { Inject, Injectable, Logger, Optional, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { WECHAT_PAY_NOTIFY_ROUTES } from '../wechat-pay.constants';
import { WECHAT_PAY_NOTIFY_HANDLER, WECHAT_PAY_REFUND_HANDLER } from './notify.decorator';
import type {
  NotificationKind,
  PaymentNotificationHandler,
  RefundNotificationHandler,
} from './notify.types';

/** A discovered handler, bound to its provider instance. `name` is `Class.method`, for logs. */
export interface RegisteredNotifyHandler<H = PaymentNotificationHandler> {
  readonly name: string;
  readonly handle: H;
}

/** Which built-in routes the module mounts (refund handlers matter only where one is). */
export type MountedNotifyRoutes = Readonly<Record<NotificationKind, boolean>>;

/**
 * Collects every `@WechatPayNotifyHandler()` and `@WechatPayRefundHandler()` method of the
 * application's providers at bootstrap.
 */
@Injectable()
export class NotifyHandlerRegistry implements OnModuleInit {
  private readonly logger = new Logger('WechatPayNotify');
  private readonly entries: RegisteredNotifyHandler[] = [];
  private readonly refundEntries: RegisteredNotifyHandler<RefundNotificationHandler>[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    @Optional()
    @Inject(WECHAT_PAY_NOTIFY_ROUTES)
    private readonly routes: MountedNotifyRoutes = { payment: true, refund: false },
  ) {}

  /** The payment handlers in the order they are called. */
  get handlers(): readonly RegisteredNotifyHandler[] {
    return this.entries;
  }

  /** The refund handlers in the order they are called. */
  get refundHandlers(): readonly RegisteredNotifyHandler<RefundNotificationHandler>[] {
    return this.refundEntries;
  }

  /**
   * Adds a handler by hand; discovery uses the same path. Useful for hosts that build handlers
   * dynamically and for tests that construct the notify service without a Nest container.
   */
  register(name: string, handle: PaymentNotificationHandler): void {
    this.entries.push({ name, handle });
  }

  /** Adds a refund handler by hand, as `register` does for payments. */
  registerRefund(name: string, handle: RefundNotificationHandler): void {
    this.refundEntries.push({ name, handle });
  }

  onModuleInit(): void {
    // A provider registered under two tokens (useExisting) is one instance: bind its methods once.
    const seen = new Set<object>();
    for (const wrapper of this.discovery.getProviders()) {
      this.collect(wrapper, seen);
    }
    if (this.entries.length === 0) {
      this.logger.warn(
        'no @WechatPayNotifyHandler() method found: every payment notification will be answered FAIL',
      );
    } else {
      this.logger.log(`${this.entries.length} payment notification handler(s) registered`);
    }
    if (this.refundEntries.length > 0) {
      this.logger.log(`${this.refundEntries.length} refund notification handler(s) registered`);
    } else if (this.routes.refund) {
      this.logger.warn(
        'no @WechatPayRefundHandler() method found: every refund notification will be answered ' +
          'FAIL (set refundNotifyController: false if this app does not refund)',
      );
    }
  }

  private collect(wrapper: InstanceWrapper, seen: Set<object>): void {
    if (!wrapper.isDependencyTreeStatic()) {
      // The instance of a request- or transient-scoped provider is not the one a request would
      // use, so binding to it would be wrong; say so instead of silently dropping the handler.
      const prototype = (wrapper.metatype as { prototype?: object } | null)?.prototype;
      for (const key of [WECHAT_PAY_NOTIFY_HANDLER, WECHAT_PAY_REFUND_HANDLER]) {
        for (const method of this.decoratedMethods(prototype, key)) {
          this.logger.warn(
            `${String(wrapper.name)}.${method} is ignored: notify handlers must live on singleton providers`,
          );
        }
      }
      return;
    }
    const instance: unknown = wrapper.instance;
    if (instance === null || typeof instance !== 'object' || seen.has(instance)) return;
    seen.add(instance);
    const owner = instance as Record<string, unknown>;
    const prototype = Object.getPrototypeOf(instance) as object | null;
    for (const method of this.decoratedMethods(prototype, WECHAT_PAY_NOTIFY_HANDLER)) {
      const fn = owner[method] as PaymentNotificationHandler;
      this.register(`${instance.constructor.name}.${method}`, fn.bind(instance));
    }
    for (const method of this.decoratedMethods(prototype, WECHAT_PAY_REFUND_HANDLER)) {
      const fn = owner[method] as RefundNotificationHandler;
      this.registerRefund(`${instance.constructor.name}.${method}`, fn.bind(instance));
    }
  }

  private decoratedMethods(prototype: object | null | undefined, key: symbol): string[] {
    if (!prototype) return [];
    return this.scanner.getAllMethodNames(prototype).filter((name) => {
      const method = (prototype as Record<string, unknown>)[name];
      return (
        typeof method === 'function' &&
        this.reflector.get<boolean | undefined>(key, method) === true
      );
    });
  }
}
