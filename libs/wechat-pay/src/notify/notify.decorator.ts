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

/** Metadata key that marks a method as a refund-notification handler. */
export const WECHAT_PAY_REFUND_HANDLER = Symbol('wechat-pay:refund-handler');

/**
 * Marks a method of a singleton provider as a refund-notification handler:
 * `(event: RefundNotification) => Promise<void> | void`, called for every decrypted refund
 * notification (SUCCESS, CHANGE and REFUNDCLOSE alike). Same rules as payment handlers: awaited
 * in discovery order, a throw answers `FAIL` (WeChat re-sends later), so handlers must be
 * idempotent.
 */
export const WechatPayRefundHandler = (): MethodDecorator =>
  SetMetadata(WECHAT_PAY_REFUND_HANDLER, true);
