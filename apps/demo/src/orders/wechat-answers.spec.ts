import {
  WechatPayBusinessError,
  WechatPayTransportError,
  type TradeState,
} from 'nestjs-wechat-pay-v2';
import { errorEvent, tradeStateEvent } from './wechat-answers';

describe('what WeChat’s answers mean for an order', () => {
  it.each<[TradeState, string]>([
    ['SUCCESS', 'PAID'],
    ['REFUND', 'PAID'],
    ['NOTPAY', 'NOT_PAID'],
    ['USERPAYING', 'NOT_PAID'],
    ['PAYERROR', 'NOT_PAID'],
    ['CLOSED', 'CLOSED'],
    ['REVOKED', 'CLOSED'],
  ])('reads trade_state %s as %s', (tradeState, event) => {
    expect(tradeStateEvent(tradeState)).toBe(event);
  });

  it.each([
    ['ORDERPAID', 'PAID_AT_WECHAT'],
    ['ORDERCLOSED', 'CLOSED'],
    ['ORDERNOTEXIST', 'NOT_AT_WECHAT'],
  ])('reads err_code %s as %s', (errCode, event) => {
    expect(errorEvent(new WechatPayBusinessError(errCode, 'desc', '<xml/>'))).toBe(event);
  });

  it('reads nothing into errors that say nothing about the order', () => {
    for (const errCode of ['SYSTEMERROR', 'BIZERR_NEED_RETRY', 'INVALID_REQUEST', 'toString']) {
      expect(errorEvent(new WechatPayBusinessError(errCode, 'desc', '<xml/>'))).toBeUndefined();
    }
    expect(errorEvent(new WechatPayTransportError('READ_TIMEOUT', 'timed out'))).toBeUndefined();
    expect(errorEvent(new Error('ORDERPAID'))).toBeUndefined();
  });
});
