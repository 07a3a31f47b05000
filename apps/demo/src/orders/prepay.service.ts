import { ConflictException, Injectable } from '@nestjs/common';
import {
  WechatPayError,
  WechatPayGateway,
  WechatPayRequestError,
  type PayParams,
  type SignType,
} from 'nestjs-wechat-pay-v2';
import { Clock } from '../clock';
import { DatabaseUnavailableError, databaseUnavailableReason } from '../common/database-errors';
import { OrderSyncService } from '../payments/order-sync.service';
import type { OrderEntity } from './order.entity';
import { OrdersStore } from './orders.store';
import { errorEvent } from './wechat-answers';

/** A prepay_id lives 2 hours at WeChat; stop handing it out a little before that. */
const PREPAY_LIFETIME_MS = 2 * 60 * 60 * 1000;
const PREPAY_SAFETY_MS = 5 * 60 * 1000;

/** Pay parameters for an unpaid order: from its live prepay_id, or from unifiedorder. */
@Injectable()
export class PrepayService {
  constructor(
    private readonly gateway: WechatPayGateway,
    private readonly store: OrdersStore,
    private readonly sync: OrderSyncService,
    private readonly clock: Clock,
  ) {}

  /**
   * From the live prepay_id, or from a unifiedorder re-entry with the order's original parameters
   * (WeChat then answers with a live prepay_id for the same order).
   */
  async payParams(order: OrderEntity, clientIp: string): Promise<PayParams> {
    const now = this.clock.now();
    const signType = order.signType as SignType;
    if (order.prepayId && order.prepayExpiresAt !== null && order.prepayExpiresAt > now) {
      return this.gateway.payParams(order.prepayId, signType);
    }
    try {
      const { order: prepay, payParams } = await this.gateway.createJsapiPayment({
        outTradeNo: order.orderNo,
        body: order.description,
        totalFee: order.amountFen,
        openid: order.openid,
        spbillCreateIp: clientIp,
        notifyUrl: order.notifyUrl,
        timeExpire: order.timeExpire,
        signType,
      });
      await this.savePrepay(order, prepay.prepayId, now);
      return payParams;
    } catch (error) {
      if (!(error instanceof WechatPayError)) throw error;
      if (error instanceof WechatPayRequestError && error.field === 'timeExpire') {
        // WeChat refuses a time_expire under 5 minutes away, which a new unifiedorder would send.
        throw new ConflictException(
          `order ${order.orderNo} expires too soon to be paid; place a new order`,
        );
      }
      await this.store.recordError(order.id, `${error.code}: ${error.message}`, now);
      const event = errorEvent(error);
      if (event === 'PAID_AT_WECHAT') {
        await this.sync.answer(order, event, 'query');
        throw new ConflictException(`order ${order.orderNo} is already paid`);
      }
      if (event === 'CLOSED') {
        await this.sync.answer(order, event, 'query');
        throw new ConflictException(`order ${order.orderNo} is closed; place a new order`);
      }
      throw error;
    }
  }

  /**
   * WeChat holds the order once unifiedorder answered. If the prepay_id cannot be stored, a retry
   * re-enters unifiedorder with the same parameters and gets a prepay_id for that same order, so
   * the failure is reported as retryable whatever the database said.
   */
  private async savePrepay(order: OrderEntity, prepayId: string, now: number): Promise<void> {
    try {
      await this.store.savePrepay(
        order.id,
        prepayId,
        now + PREPAY_LIFETIME_MS - PREPAY_SAFETY_MS,
        now,
      );
    } catch (error) {
      const reason = databaseUnavailableReason(error) ?? 'prepay_id not saved';
      throw new DatabaseUnavailableError(reason, { cause: error });
    }
  }
}
