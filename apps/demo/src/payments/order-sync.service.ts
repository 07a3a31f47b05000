import { Injectable } from '@nestjs/common';
import { WechatPayGateway, type OrderQueryResult } from 'nestjs-wechat-pay-v2';
import type { OrderEntity, PaymentSource } from '../database/entities';
import { PaymentsService, type SettleOutcome } from './payments.service';

export type SyncOutcome = SettleOutcome | 'STILL_UNPAID' | 'CLOSED' | 'ALREADY_FINAL';

/** Asks orderquery about an order and applies the answer through the exactly-once paths. */
@Injectable()
export class OrderSyncService {
  constructor(
    private readonly gateway: WechatPayGateway,
    private readonly payments: PaymentsService,
  ) {}

  async sync(order: OrderEntity, source: PaymentSource): Promise<SyncOutcome> {
    const result = await this.gateway.orderQuery({ outTradeNo: order.orderNo });
    return this.apply(order, result, source);
  }

  async apply(
    order: OrderEntity,
    result: OrderQueryResult,
    source: PaymentSource,
  ): Promise<SyncOutcome> {
    // REFUND means it was paid first: the payment still has to be recorded.
    switch (result.tradeState) {
      case 'SUCCESS':
      case 'REFUND':
        return this.payments.settle(
          {
            outTradeNo: result.outTradeNo,
            transactionId: result.transactionId,
            totalFee: result.totalFee,
            appId: result.appId,
            mchId: result.mchId,
          },
          source,
        );
      case 'CLOSED':
      case 'REVOKED':
        return (await this.payments.close(order.id)) ? 'CLOSED' : 'ALREADY_FINAL';
      default:
        return 'STILL_UNPAID';
    }
  }
}
