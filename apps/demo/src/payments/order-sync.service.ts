import { Injectable } from '@nestjs/common';
import { WechatPayGateway, type OrderQueryResult, type RequestOptions } from 'nestjs-wechat-pay-v2';
import { Clock } from '../clock';
import { next, stateOf, type OrderEvent } from '../orders/order-machine';
import type { OrderEntity, PaymentSource } from '../orders/order.entity';
import { errorEvent, reportsPayment, tradeStateEvent } from '../orders/wechat-answers';
import { PaymentsService, type SettleOutcome } from './payments.service';

/**
 * What asking WeChat about an order led to: a settle outcome when WeChat reported the payment;
 * CLOSED (closed now) or ALREADY_FINAL (nothing left to change here); STILL_UNPAID (ask again
 * later); CLOSE_DUE (unpaid, but it has to be closed at WeChat); DEFERRED (WeChat said it is paid,
 * and no time is left to ask for the payment's details).
 */
export type SyncOutcome =
  SettleOutcome | 'STILL_UNPAID' | 'CLOSE_DUE' | 'CLOSED' | 'ALREADY_FINAL' | 'DEFERRED';

export interface CloseOptions {
  readTimeoutMs?: number;
  /** The read timeout of the orderquery an ORDERPAID answer calls for; undefined: no time for it. */
  queryTimeoutMs?: () => number | undefined;
}

/**
 * Asks WeChat about an order (orderquery, closeorder) and applies the answer through the
 * exactly-once paths, reading it as an event of the order state machine.
 */
@Injectable()
export class OrderSyncService {
  constructor(
    private readonly gateway: WechatPayGateway,
    private readonly payments: PaymentsService,
    private readonly clock: Clock,
  ) {}

  async sync(
    order: OrderEntity,
    source: PaymentSource,
    options?: RequestOptions,
  ): Promise<SyncOutcome> {
    let result: OrderQueryResult;
    try {
      result = await this.gateway.orderQuery({ outTradeNo: order.orderNo }, options);
    } catch (error) {
      const event = errorEvent(error);
      // ORDERPAID from orderquery itself would ask for another orderquery: report it instead.
      if (event === undefined || event === 'PAID_AT_WECHAT') throw error;
      return this.answer(order, event, source);
    }
    return this.apply(order, result, source);
  }

  async apply(
    order: OrderEntity,
    result: OrderQueryResult,
    source: PaymentSource,
  ): Promise<SyncOutcome> {
    if (reportsPayment(result)) {
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
    }
    return this.answer(order, tradeStateEvent(result.tradeState), source);
  }

  /** closeorder, and what its answer means applied. */
  async close(
    order: OrderEntity,
    source: PaymentSource,
    options: CloseOptions = {},
  ): Promise<SyncOutcome> {
    try {
      await this.gateway.closeOrder(order.orderNo, { readTimeoutMs: options.readTimeoutMs });
    } catch (error) {
      const event = errorEvent(error);
      if (event === undefined) throw error;
      return this.answer(order, event, source, options.queryTimeoutMs);
    }
    return this.answer(order, 'CLOSED', source);
  }

  /** Applies an answer that carries no payment (an err_code, a trade_state other than paid). */
  async answer(
    order: OrderEntity,
    event: OrderEvent,
    source: PaymentSource,
    queryTimeoutMs?: () => number | undefined,
  ): Promise<SyncOutcome> {
    const step = next(stateOf(order, this.clock.now()), event);
    if (step.effects.includes('query')) {
      if (!queryTimeoutMs) return this.sync(order, source);
      const readTimeoutMs = queryTimeoutMs();
      return readTimeoutMs === undefined ? 'DEFERRED' : this.sync(order, source, { readTimeoutMs });
    }
    if (step.to === 'CLOSED' && step.outcome === 'APPLIED') {
      return (await this.payments.close(order.id)) ? 'CLOSED' : 'ALREADY_FINAL';
    }
    if (step.effects.includes('closeAtWechat')) return 'CLOSE_DUE';
    if (step.effects.includes('checkLater')) return 'STILL_UNPAID';
    return 'ALREADY_FINAL';
  }
}
