import { SimulatorClock } from './clock';
import { SimulatorStore, orderView, type NewOrder } from './store';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function setup() {
  const wall = Date.UTC(2024, 0, 1);
  const clock = new SimulatorClock(() => wall);
  const store = new SimulatorStore(clock, {
    prepayLifeMs: 2 * HOUR,
    defaultOrderExpiryMs: 24 * HOUR,
    loginCodeLifeMs: 5 * MINUTE,
    retention: { closedOrderMs: 24 * HOUR, paidOrderMs: 7 * 24 * HOUR, maxOrders: 1000 },
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
});
