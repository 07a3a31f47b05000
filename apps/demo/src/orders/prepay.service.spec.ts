import { ConflictException } from '@nestjs/common';
import {
  WechatPayBusinessError,
  WechatPayRequestError,
  WechatPayTransportError,
  type WechatPayGateway,
} from 'nestjs-wechat-pay-v2';
import type { Clock } from '../clock';
import type { OrderSyncService } from '../payments/order-sync.service';
import { OrderEntity } from './order.entity';
import type { OrdersStore } from './orders.store';
import { PrepayService } from './prepay.service';

const NOW = 1_800_000_000_000;

function unpaidOrder(): OrderEntity {
  return Object.assign(new OrderEntity(), {
    id: 7,
    orderNo: '202601011200001234567890',
    openid: 'o-user',
    amountFen: 6800,
    description: '云南小粒咖啡豆 250g',
    status: 'UNPAID',
    signType: 'HMAC-SHA256',
    notifyUrl: 'https://shop.example/wechat-pay/notify',
    timeExpire: '20260101123000',
    expiresAt: NOW + 60_000,
    prepayId: null,
    prepayExpiresAt: null,
    cancelRequestedAt: null,
  });
}

/** The service with a gateway whose unifiedorder fails with `error`. */
function failingWith(error: Error) {
  const recordError = jest.fn().mockResolvedValue(undefined);
  const answer = jest.fn().mockResolvedValue('PAID');
  const gateway = {
    createJsapiPayment: jest.fn().mockRejectedValue(error),
  } as unknown as WechatPayGateway;
  const service = new PrepayService(
    gateway,
    { recordError } as unknown as OrdersStore,
    { answer } as unknown as OrderSyncService,
    { now: () => NOW } as Clock,
  );
  return { service, recordError, answer };
}

describe('PrepayService when unifiedorder refuses', () => {
  it('answers 409 when the order is too close to its expiry for WeChat, without recording an error', async () => {
    const { service, recordError, answer } = failingWith(
      new WechatPayRequestError('timeExpire', 'must be at least 5 minutes after timeStart'),
    );
    await expect(service.payParams(unpaidOrder(), '127.0.0.1')).rejects.toThrow(
      new ConflictException(
        'order 202601011200001234567890 expires too soon to be paid; place a new order',
      ),
    );
    expect(recordError).not.toHaveBeenCalled();
    expect(answer).not.toHaveBeenCalled();
  });

  it('settles the payment through orderquery and answers 409 when WeChat says ORDERPAID', async () => {
    const { service, recordError, answer } = failingWith(
      new WechatPayBusinessError('ORDERPAID', '该订单已支付', '<xml/>'),
    );
    const order = unpaidOrder();
    await expect(service.payParams(order, '127.0.0.1')).rejects.toThrow(
      new ConflictException('order 202601011200001234567890 is already paid'),
    );
    expect(answer).toHaveBeenCalledWith(order, 'PAID_AT_WECHAT', 'query');
    expect(recordError).toHaveBeenCalledWith(7, expect.stringMatching(/^BUSINESS: /), NOW);
  });

  it('closes the order here and answers 409 when WeChat says ORDERCLOSED', async () => {
    const { service, answer } = failingWith(
      new WechatPayBusinessError('ORDERCLOSED', '订单已关闭', '<xml/>'),
    );
    const order = unpaidOrder();
    await expect(service.payParams(order, '127.0.0.1')).rejects.toThrow(
      new ConflictException('order 202601011200001234567890 is closed; place a new order'),
    );
    expect(answer).toHaveBeenCalledWith(order, 'CLOSED', 'query');
  });

  it('records and rethrows an error that says nothing about the order', async () => {
    const timeout = new WechatPayTransportError('READ_TIMEOUT', 'no answer within 8000 ms');
    const { service, recordError, answer } = failingWith(timeout);
    await expect(service.payParams(unpaidOrder(), '127.0.0.1')).rejects.toBe(timeout);
    expect(recordError).toHaveBeenCalledWith(7, expect.stringMatching(/^TRANSPORT: /), NOW);
    expect(answer).not.toHaveBeenCalled();
  });
});
