import { Injectable, Logger, Scope } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { NotifyHandlerRegistry } from './notify-handler.registry';
import { WECHAT_PAY_NOTIFY_ROUTES } from '../wechat-pay.constants';
import { WechatPayNotifyHandler, WechatPayRefundHandler } from './notify.decorator';
import type { PaymentNotification, RefundNotification } from './notify.types';

const EVENT = { outTradeNo: 'ORDER-1' } as PaymentNotification;

@Injectable()
class OrdersListener {
  readonly seen: string[] = [];

  @WechatPayNotifyHandler()
  markPaid(event: PaymentNotification): void {
    this.seen.push(`markPaid:${event.outTradeNo}`);
  }

  @WechatPayNotifyHandler()
  async audit(event: PaymentNotification): Promise<void> {
    this.seen.push(`audit:${event.outTradeNo}`);
  }

  notDecorated(): void {
    this.seen.push('notDecorated');
  }
}

@Injectable()
class RefundsListener {
  readonly seen: string[] = [];

  @WechatPayRefundHandler()
  onRefund(event: RefundNotification): void {
    this.seen.push(`refund:${event.outRefundNo}`);
  }

  @WechatPayNotifyHandler()
  onPaid(event: PaymentNotification): void {
    this.seen.push(`paid:${event.outTradeNo}`);
  }
}

@Injectable({ scope: Scope.REQUEST })
class RequestScopedListener {
  @WechatPayNotifyHandler()
  onPaid(): void {}
}

@Injectable()
class Unrelated {
  ping(): string {
    return 'pong';
  }
}

async function registryFor(providers: Parameters<typeof Test.createTestingModule>[0]['providers']) {
  const moduleRef = await Test.createTestingModule({
    imports: [DiscoveryModule],
    providers: [NotifyHandlerRegistry, ...(providers ?? [])],
  }).compile();
  await moduleRef.init();
  return { registry: moduleRef.get(NotifyHandlerRegistry), moduleRef };
}

describe('NotifyHandlerRegistry', () => {
  let log: jest.SpyInstance;
  let warn: jest.SpyInstance;

  beforeEach(() => {
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  it('finds the decorated methods of providers and binds them to their instance', async () => {
    const { registry, moduleRef } = await registryFor([OrdersListener, Unrelated]);
    expect(registry.handlers.map((h) => h.name)).toEqual([
      'OrdersListener.markPaid',
      'OrdersListener.audit',
    ]);

    for (const handler of registry.handlers) await handler.handle(EVENT);

    expect(moduleRef.get(OrdersListener).seen).toEqual(['markPaid:ORDER-1', 'audit:ORDER-1']);
    expect(log).toHaveBeenCalledWith('2 payment notification handler(s) registered');
    expect(warn).not.toHaveBeenCalled();
  });

  it('binds a provider registered under a second token (useExisting) only once', async () => {
    const { registry } = await registryFor([
      OrdersListener,
      { provide: 'ORDERS_ALIAS', useExisting: OrdersListener },
    ]);
    expect(registry.handlers.map((h) => h.name)).toEqual([
      'OrdersListener.markPaid',
      'OrdersListener.audit',
    ]);
  });

  it('skips handlers on request-scoped providers and says so', async () => {
    const { registry } = await registryFor([RequestScopedListener, OrdersListener]);
    expect(registry.handlers.map((h) => h.name)).toEqual([
      'OrdersListener.markPaid',
      'OrdersListener.audit',
    ]);
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('RequestScopedListener.onPaid is ignored'),
    );
  });

  it('tolerates value providers that are not class instances', async () => {
    const { registry } = await registryFor([
      OrdersListener,
      { provide: 'A_NUMBER', useValue: 7 },
      { provide: 'A_NULL', useValue: null },
      { provide: 'A_BARE_MAP', useValue: Object.create(null) as object },
    ]);
    expect(registry.handlers).toHaveLength(2);
  });

  it('warns once at bootstrap when no handler is registered', async () => {
    const { registry } = await registryFor([Unrelated]);
    expect(registry.handlers).toHaveLength(0);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('no @WechatPayNotifyHandler() method found'),
    );
  });

  it('collects refund handlers apart from payment handlers, each bound to its instance', async () => {
    const { registry, moduleRef } = await registryFor([RefundsListener]);
    expect(registry.handlers.map((h) => h.name)).toEqual(['RefundsListener.onPaid']);
    expect(registry.refundHandlers.map((h) => h.name)).toEqual(['RefundsListener.onRefund']);
    await registry.refundHandlers[0].handle({ outRefundNo: 'R-1' } as RefundNotification);
    expect(moduleRef.get(RefundsListener).seen).toEqual(['refund:R-1']);
    expect(log).toHaveBeenCalledWith('1 refund notification handler(s) registered');
  });

  it('warns about a missing refund handler only when the refund route is mounted', async () => {
    const mounted = await registryFor([
      OrdersListener,
      { provide: WECHAT_PAY_NOTIFY_ROUTES, useValue: { payment: true, refund: true } },
    ]);
    expect(mounted.registry.refundHandlers).toHaveLength(0);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('no @WechatPayRefundHandler() method found'),
    );
    warn.mockClear();
    await registryFor([
      OrdersListener,
      { provide: WECHAT_PAY_NOTIFY_ROUTES, useValue: { payment: true, refund: false } },
    ]);
    expect(warn).not.toHaveBeenCalled();
  });
});
