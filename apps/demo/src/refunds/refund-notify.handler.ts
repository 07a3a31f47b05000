import { Injectable, Logger } from '@nestjs/common';
import { WechatPayRefundHandler, type RefundNotification } from 'nestjs-wechat-pay-v2';
import { RefundSyncService } from './refund-sync.service';
import { RefundsStore } from './refunds.store';

/**
 * Receives refund notifications the module has decrypted (so they came from whoever holds the API
 * key) for this appid and mch_id, and applies them exactly once. Returning answers SUCCESS; a
 * throw answers FAIL and changes nothing:
 * - a final report on one of our refunds, first or repeated: applied once, SUCCESS;
 * - a refund number we have no row for, or one whose order, amounts or refund_id differ from
 *   ours: FAIL (most likely another deployment's refund; WeChat will try again, and a person
 *   can look at the log).
 */
@Injectable()
export class RefundNotifyHandler {
  private readonly logger = new Logger(RefundNotifyHandler.name);

  constructor(
    private readonly store: RefundsStore,
    private readonly sync: RefundSyncService,
  ) {}

  @WechatPayRefundHandler()
  async onRefund(event: RefundNotification): Promise<void> {
    const refund = await this.store.byNo(event.outRefundNo);
    try {
      await this.sync.apply(refund, {
        outRefundNo: event.outRefundNo,
        refundId: event.refundId,
        outTradeNo: event.outTradeNo,
        totalFee: event.totalFee,
        refundFee: event.refundFee,
        status: event.refundStatus,
        successAt: event.successAt,
        recvAccount: event.refundRecvAccount,
      });
    } catch (error) {
      this.logger.warn(
        `refund notification for ${event.outRefundNo} refused: ${error instanceof Error ? error.message : String(error)}`,
      );
      throw error;
    }
  }
}
