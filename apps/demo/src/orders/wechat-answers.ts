import {
  WechatPayBusinessError,
  type OrderQueryResult,
  type PaidOrderQueryResult,
  type TradeState,
} from 'nestjs-wechat-pay-v2';
import type { OrderEvent } from './order-machine';

/**
 * What WeChat's answers mean for an order, in the one place they are read: orderquery's
 * trade_state, and the err_code of a refused unifiedorder, orderquery or closeorder.
 */
const TRADE_STATE_EVENTS: Record<TradeState, 'PAID' | 'NOT_PAID' | 'CLOSED'> = {
  SUCCESS: 'PAID',
  // Refunded after it was paid: the payment still has to be recorded.
  REFUND: 'PAID',
  NOTPAY: 'NOT_PAID',
  USERPAYING: 'NOT_PAID',
  PAYERROR: 'NOT_PAID',
  CLOSED: 'CLOSED',
  REVOKED: 'CLOSED',
};

const ERR_CODE_EVENTS: Readonly<Record<string, OrderEvent>> = {
  ORDERPAID: 'PAID_AT_WECHAT',
  ORDERCLOSED: 'CLOSED',
  ORDERNOTEXIST: 'NOT_AT_WECHAT',
};

/** The event an orderquery trade_state is; PAID is then checked against the order (paymentEvent). */
export function tradeStateEvent(tradeState: TradeState): 'PAID' | 'NOT_PAID' | 'CLOSED' {
  return TRADE_STATE_EVENTS[tradeState];
}

/** An orderquery answer that reports a payment (its trade_state is the PAID event). */
export function reportsPayment(result: OrderQueryResult): result is PaidOrderQueryResult {
  return tradeStateEvent(result.tradeState) === 'PAID';
}

/**
 * The event a failed call's error is, or undefined when it says nothing about the order (SYSTEMERROR,
 * a timeout, a bad signature...): the caller retries or reports it.
 */
export function errorEvent(error: unknown): OrderEvent | undefined {
  if (!(error instanceof WechatPayBusinessError)) return undefined;
  return Object.hasOwn(ERR_CODE_EVENTS, error.errCode) ? ERR_CODE_EVENTS[error.errCode] : undefined;
}
