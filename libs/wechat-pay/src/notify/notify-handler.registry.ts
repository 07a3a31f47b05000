import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { WECHAT_PAY_NOTIFY_HANDLER } from './notify.decorator';
import type { PaymentNotificationHandler } from './notify.types';

/** A discovered handler, bound to its provider instance. `name` is `Class.method`, for logs. */
export interface RegisteredNotifyHandler {
  readonly name: string;
  readonly handle: PaymentNotificationHandler;
}

/** Collects every `@WechatPayNotifyHandler()` method of the application's providers at bootstrap. */
@Injectable()
export class NotifyHandlerRegistry implements OnModuleInit {
  private readonly logger = new Logger('WechatPayNotify');
  private readonly entries: RegisteredNotifyHandler[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  /** The handlers in the order they are called. */
  get handlers(): readonly RegisteredNotifyHandler[] {
    return this.entries;
  }

  /**
   * Adds a handler by hand; discovery uses the same path. Useful for hosts that build handlers
   * dynamically and for tests that construct the notify service without a Nest container.
   */
  register(name: string, handle: PaymentNotificationHandler): void {
    this.entries.push({ name, handle });
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
  }

  private collect(wrapper: InstanceWrapper, seen: Set<object>): void {
    if (!wrapper.isDependencyTreeStatic()) {
      // The instance of a request- or transient-scoped provider is not the one a request would
      // use, so binding to it would be wrong; say so instead of silently dropping the handler.
      const prototype = (wrapper.metatype as { prototype?: object } | null)?.prototype;
      for (const method of this.decoratedMethods(prototype)) {
        this.logger.warn(
          `${String(wrapper.name)}.${method} is ignored: notify handlers must live on singleton providers`,
        );
      }
      return;
    }
    const instance: unknown = wrapper.instance;
    if (instance === null || typeof instance !== 'object' || seen.has(instance)) return;
    seen.add(instance);
    const owner = instance as Record<string, unknown>;
    for (const method of this.decoratedMethods(Object.getPrototypeOf(instance) as object | null)) {
      const fn = owner[method] as PaymentNotificationHandler;
      this.register(`${instance.constructor.name}.${method}`, fn.bind(instance));
    }
  }

  private decoratedMethods(prototype: object | null | undefined): string[] {
    if (!prototype) return [];
    return this.scanner.getAllMethodNames(prototype).filter((name) => {
      const method = (prototype as Record<string, unknown>)[name];
      return (
        typeof method === 'function' &&
        this.reflector.get<boolean | undefined>(WECHAT_PAY_NOTIFY_HANDLER, method) === true
      );
    });
  }
}
