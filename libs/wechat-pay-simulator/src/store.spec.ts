import { SimulatorClock } from './clock';
import {
  SimulatorStore,
  orderView,
  type NewOrder,
  type RetentionLimits,
  type SimulatedOrder,
} from './store';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function setup(retention: Partial<RetentionLimits> = {}) {
  const wall = Date.UTC(2024, 0, 1);
  const clock = new SimulatorClock(() => wall);
  const store = new SimulatorStore(clock, {
    prepayLifeMs: 2 * HOUR,
    defaultOrderExpiryMs: 24 * HOUR,
    loginCodeLifeMs: 5 * MINUTE,
    retention: {
      closedOrderMs: 24 * HOUR,
      paidOrderMs: 7 * 24 * HOUR,
      maxOrders: 1000,
      maxBillRows: 1000,
      ...retention,
    },
  });
  return { clock, store };
}

const NEW_ORDER: NewOrder = {
  appId: 'wx0000000000000001',
  mchId: '1900000109',
  outTradeNo: 'order_0001',
  params: {},
  totalFee: 100,
  body: 'Coffee',
  attach: '',
  deviceInfo: '',
  openid: 'o1',
  tradeType: 'JSAPI',
  feeType: 'CNY',
  notifyUrl: 'https://example.com/notify',
  signType: 'MD5',
  requestNonce: 'nonce0001',
};

describe('SimulatorStore', () => {
  it('keeps a prepay id for 2 hours and then replaces it, both findable', () => {
    const { clock, store } = setup();
    const order = store.createOrder(NEW_ORDER);
    const first = order.prepay;
    expect(store.livePrepay(order)).toBe(first);
    clock.advance(2 * HOUR);
    const second = store.livePrepay(order);
    expect(second.id).not.toBe(first.id);
    expect(store.findByPrepayId(first.id)?.prepay).toBe(first);
    expect(store.findByPrepayId(second.id)?.order).toBe(order);
  });

  it('closes an unpaid order at its expiry but never a paid one', () => {
    const { clock, store } = setup();
    const unpaid = store.createOrder({ ...NEW_ORDER, expiresAt: clock.now() + 10 * MINUTE });
    const paid = store.createOrder({ ...NEW_ORDER, outTradeNo: 'order_0002' });
    paid.state = 'SUCCESS';
    clock.advance(10 * MINUTE - 1);
    expect(store.findOrder(unpaid.mchId, unpaid.outTradeNo)?.state).toBe('NOTPAY');
    clock.advance(24 * HOUR);
    expect(orderView(store.findOrder(unpaid.mchId, unpaid.outTradeNo)!)).toMatchObject({
      tradeState: 'CLOSED',
      closedBy: 'expiry',
    });
    expect(store.findOrder(paid.mchId, paid.outTradeNo)?.state).toBe('SUCCESS');
  });

  it('redeems a login code once, only for its AppID and only within 5 minutes', () => {
    const { clock, store } = setup();
    const code = store.issueLoginCode('wxA', 'o1');
    expect(store.redeemLoginCode(code, 'wxB')).toEqual({ ok: false, reason: 'invalid' });
    expect(store.redeemLoginCode(code, 'wxA')).toEqual({ ok: true, openid: 'o1' });
    expect(store.redeemLoginCode(code, 'wxA')).toEqual({ ok: false, reason: 'used' });
    const late = store.issueLoginCode('wxA', 'o2');
    clock.advance(5 * MINUTE);
    expect(store.redeemLoginCode(late, 'wxA')).toEqual({ ok: false, reason: 'invalid' });
  });

  describe('retention', () => {
    let sequence = 0;
    const newOrder = (store: SimulatorStore, overrides: Partial<NewOrder> = {}) => {
      sequence += 1;
      return store.createOrder({ ...NEW_ORDER, outTradeNo: `keep_${sequence}`, ...overrides });
    };
    const pay = (
      store: SimulatorStore,
      order: SimulatedOrder,
      at: number,
      transactionId: string,
    ) => {
      order.state = 'SUCCESS';
      order.paidAt = at;
      order.notification = 'delivered';
      store.recordTransaction(order, transactionId);
    };
    const held = (store: SimulatorStore, order: SimulatedOrder) =>
      store.findOrder(order.mchId, order.outTradeNo) !== undefined;

    it('forgets a closed order, and every prepay id it had, once it has been closed for closedOrderMs', () => {
      const { clock, store } = setup({ closedOrderMs: 2 * HOUR });
      const order = newOrder(store, { expiresAt: clock.now() + 10 * MINUTE });
      const first = order.prepay.id;
      clock.advance(10 * MINUTE);
      store.sweep();
      expect(held(store, order)).toBe(true);
      expect(order.state).toBe('CLOSED');
      clock.advance(2 * HOUR - 1);
      store.sweep();
      expect(held(store, order)).toBe(true);
      clock.advance(1);
      store.sweep();
      expect(held(store, order)).toBe(false);
      expect(store.findByPrepayId(first)).toBeUndefined();
      expect(order.retained).toBe(false);
      expect(store.stats()).toMatchObject({ orders: 0, evictedOrders: 1, prepayIds: 0 });
    });

    it('keeps a paid order for paidOrderMs after payment, then forgets it and its transaction id', () => {
      const { clock, store } = setup({ paidOrderMs: 3 * 24 * HOUR });
      const order = newOrder(store);
      pay(store, order, clock.now(), '4200000000202401010000000001');
      clock.advance(3 * 24 * HOUR - 1);
      store.sweep();
      expect(store.findByTransactionId(order.mchId, '4200000000202401010000000001')).toBe(order);
      clock.advance(1);
      store.sweep();
      expect(held(store, order)).toBe(false);
      expect(
        store.findByTransactionId(order.mchId, '4200000000202401010000000001'),
      ).toBeUndefined();
    });

    it('never forgets a paid order by age while its notification is still being delivered', () => {
      const { clock, store } = setup({ paidOrderMs: HOUR });
      const order = newOrder(store);
      pay(store, order, clock.now(), '4200000000202401010000000002');
      order.notification = 'pending';
      clock.advance(2 * HOUR);
      store.sweep();
      expect(held(store, order)).toBe(true);
      order.notification = 'abandoned';
      store.sweep();
      expect(held(store, order)).toBe(false);
    });

    it('checks the age limits by itself when orders keep coming', () => {
      const { clock, store } = setup({ closedOrderMs: MINUTE });
      const order = newOrder(store, { expiresAt: clock.now() + 5 * MINUTE });
      clock.advance(6 * MINUTE);
      newOrder(store);
      expect(held(store, order)).toBe(false);
    });

    it('keeps unpaid live orders whatever their age', () => {
      const { clock, store } = setup({ closedOrderMs: MINUTE, paidOrderMs: MINUTE });
      const order = newOrder(store, { expiresAt: clock.now() + 30 * 24 * HOUR });
      clock.advance(29 * 24 * HOUR);
      store.sweep();
      expect(held(store, order)).toBe(true);
      expect(order.state).toBe('NOTPAY');
    });

    it('past maxOrders forgets the oldest finished orders before any live one', () => {
      const { clock, store } = setup({ maxOrders: 10 });
      const live = Array.from({ length: 5 }, () => newOrder(store));
      const finished = Array.from({ length: 5 }, (_, i) => {
        const order = newOrder(store);
        pay(store, order, clock.now(), `42000000002024010100000001${i}`);
        return order;
      });
      const extra = newOrder(store);
      expect(store.stats().orders).toBe(10);
      expect(held(store, finished[0])).toBe(false);
      expect(finished.slice(1).every((order) => held(store, order))).toBe(true);
      expect(live.every((order) => held(store, order))).toBe(true);
      expect(held(store, extra)).toBe(true);
    });

    it('past maxOrders with nothing finished forgets the oldest orders, so memory stays bounded', () => {
      const { store } = setup({ maxOrders: 200 });
      const orders = Array.from({ length: 1000 }, () => newOrder(store));
      expect(store.stats().orders).toBeLessThanOrEqual(200);
      expect(store.stats().evictedOrders).toBe(1000 - store.stats().orders);
      expect(held(store, orders[999])).toBe(true);
      expect(held(store, orders[0])).toBe(false);
      expect(orders[0].retained).toBe(false);
    });

    it('drops expired login codes when the next one is issued', () => {
      const { clock, store } = setup();
      store.issueLoginCode('wxA', 'o1');
      store.issueLoginCode('wxA', 'o2');
      clock.advance(5 * MINUTE);
      store.issueLoginCode('wxA', 'o3');
      expect(store.stats().loginCodes).toBe(1);
    });
  });
});
