import { Injectable } from '@nestjs/common';
import { WechatPayNotifyHandler, type PaymentNotification } from 'nestjs-wechat-pay-v2';
import { CheckoutService } from './checkout.service';

@Injectable()
export class PaymentEvents {
  /** Stands in for your payments table: one row per order, whatever WeChat re-sends. */
  readonly paid = new Map<string, PaymentNotification>();

  constructor(private readonly checkout: CheckoutService) {}

  @WechatPayNotifyHandler()
  async onPaid(event: PaymentNotification): Promise<void> {
    // Already verified: the signature over every field received, and appid and mch_id are ours.
    const order = this.checkout.orders.get(event.outTradeNo);
    // Throwing answers FAIL, so WeChat sends the notification again later.
    if (order === undefined) throw new Error(`unknown order ${event.outTradeNo}`);
    if (event.totalFee !== order.totalFen) throw new Error(`amount mismatch on ${order.no}`);
    // WeChat sends the same notification many times: record it idempotently.
    if (!this.paid.has(order.no)) this.paid.set(order.no, event);
  }
}
