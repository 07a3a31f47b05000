import { Injectable, Logger } from '@nestjs/common';
import { WechatPayNotifyHandler, type PaymentNotification } from 'nestjs-wechat-pay-v2';
import { Clock } from '../clock';
import { PaymentsService } from './payments.service';

export class UnknownOrderError extends Error {
  constructor(outTradeNo: string) {
    super(`notification for unknown order ${outTradeNo}`);
  }
}

/**
 * Receives notifications the module has already verified (signature, appid, mch_id) and applies
 * them. The reply WeChat gets follows from what this method does:
 * - paid now, or already paid (a duplicate): returns, so the module answers SUCCESS;
 * - amount or merchant mismatch on a known order: the order is left unpaid, the payment is
 *   recorded for review, and the method returns, so the answer is SUCCESS. Re-sending cannot
 *   change the amount; answering FAIL would only bring the same notification back for 24 hours
 *   while the record for a person already exists;
 * - unknown order: throws, so the answer is FAIL and WeChat keeps trying. Such a notification is
 *   most likely meant for another deployment sharing the merchant account, which may still
 *   accept it.
 * Every notification is stored for audit, whatever the outcome, in the same write as the change it
 * causes: a crash cannot keep the payment and lose the notification that caused it.
 */
@Injectable()
export class PaymentNotifyHandler {
  private readonly logger = new Logger(PaymentNotifyHandler.name);

  constructor(
    private readonly payments: PaymentsService,
    private readonly clock: Clock,
  ) {}

  @WechatPayNotifyHandler()
  async onPayment(event: PaymentNotification): Promise<void> {
    const outcome = await this.payments.settle(
      {
        outTradeNo: event.outTradeNo,
        transactionId: event.transactionId,
        totalFee: event.totalFee,
        appId: event.raw.appid,
        mchId: event.raw.mch_id,
      },
      'notify',
      { receivedAt: this.clock.now(), raw: JSON.stringify(event.raw) },
    );
    if (outcome !== 'PAID' && outcome !== 'DUPLICATE') {
      this.logger.warn(`notification for ${event.outTradeNo}: ${outcome}`);
    }
    if (outcome === 'UNKNOWN_ORDER') throw new UnknownOrderError(event.outTradeNo);
  }
}
