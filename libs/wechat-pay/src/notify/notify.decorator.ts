import { SetMetadata } from '@nestjs/common';

/** Metadata key that marks a method as a payment-notification handler. */
export const WECHAT_PAY_NOTIFY_HANDLER = Symbol('wechat-pay:notify-handler');

/**
 * Marks a method of a singleton provider as a payment-notification handler:
 * `(event: PaymentNotification) => Promise<void> | void`. Handlers are awaited in discovery order;
 * one that throws makes the reply `FAIL`, so WeChat re-sends the notification later. Handlers must
 * therefore be idempotent. Methods on request- or transient-scoped providers are ignored.
 */
export const WechatPayNotifyHandler = (): MethodDecorator =>
  SetMetadata(WECHAT_PAY_NOTIFY_HANDLER, true);
