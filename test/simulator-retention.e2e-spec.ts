import {
  RETENTION_DEFAULTS,
  startSimulator,
  TEST_MERCHANT,
  type RunningSimulator,
} from 'wechat-pay-v2-simulator';
import {
  PAYER_OPENID,
  SimClient,
  SUCCESS_REPLY,
  jsonCall,
  orderFields,
  payParams,
  startMerchantEndpoint,
} from './simulator-support';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('simulator: retention limits', () => {
  let sim: RunningSimulator;
  let client: SimClient;

  beforeAll(async () => {
    sim = await startSimulator({
      merchants: [TEST_MERCHANT],
      timeScale: 0.001,
      closeOrderMinAgeMs: 0,
      retention: { closedOrderMs: HOUR, paidOrderMs: 2 * DAY },
    });
    client = new SimClient(sim.baseUrl, TEST_MERCHANT);
  });

  afterAll(() => sim.stop());

  const query = (outTradeNo: string) =>
    client.call('/pay/orderquery', { out_trade_no: outTradeNo });

  it('keeps a week of paid orders and a day of closed ones, at most 50,000, and 200,000 bill rows, unless told otherwise', () => {
    expect(RETENTION_DEFAULTS).toEqual({
      closedOrderMs: DAY,
      paidOrderMs: 7 * DAY,
      maxOrders: 50_000,
      maxBillRows: 200_000,
    });
    expect(sim.retention).toEqual({
      closedOrderMs: HOUR,
      paidOrderMs: 2 * DAY,
      maxOrders: 50_000,
      maxBillRows: 200_000,
    });
  });

  it('answers orderquery for a closed order until closedOrderMs has passed, then ORDERNOTEXIST', async () => {
    const fields = orderFields();
    await client.call('/pay/unifiedorder', fields);
    expect(
      (await client.call('/pay/closeorder', { out_trade_no: fields.out_trade_no })).fields
        .result_code,
    ).toBe('SUCCESS');
    sim.controls.advanceClock(HOUR - 1000);
    expect((await query(fields.out_trade_no as string)).fields.trade_state).toBe('CLOSED');
    sim.controls.advanceClock(1000);
    expect((await query(fields.out_trade_no as string)).fields.err_code).toBe('ORDERNOTEXIST');
    expect(sim.controls.order(fields.out_trade_no as string)).toBeUndefined();
  });

  it('keeps a paid order and its notification sends for paidOrderMs, then forgets both', async () => {
    const endpoint = await startMerchantEndpoint(() => ({ body: SUCCESS_REPLY }));
    try {
      const fields = orderFields({ notify_url: endpoint.url });
      const created = await client.call('/pay/unifiedorder', fields);
      const outTradeNo = fields.out_trade_no as string;
      sim.controls.requestPayment({
        ...payParams(TEST_MERCHANT, created.fields.prepay_id, 'MD5'),
        openid: PAYER_OPENID,
      });
      await sim.controls.waitForNotifications((all) =>
        all.some((a) => a.outTradeNo === outTradeNo && a.outcome === 'delivered'),
      );
      const transactionId = sim.controls.order(outTradeNo)?.transactionId as string;
      sim.controls.advanceClock(2 * DAY - MINUTE);
      expect((await query(outTradeNo)).fields.trade_state).toBe('SUCCESS');
      expect(
        (await client.call('/pay/orderquery', { transaction_id: transactionId })).fields
          .trade_state,
      ).toBe('SUCCESS');
      expect(sim.controls.notifications(outTradeNo)).toHaveLength(1);
      sim.controls.advanceClock(MINUTE);
      expect((await query(outTradeNo)).fields.err_code).toBe('ORDERNOTEXIST');
      expect(
        (await client.call('/pay/orderquery', { transaction_id: transactionId })).fields.err_code,
      ).toBe('ORDERNOTEXIST');
      expect(sim.controls.notifications(outTradeNo)).toEqual([]);
    } finally {
      await endpoint.stop();
    }
  });

  it('reports what it holds and what it forgot on /__simulator/stats', async () => {
    const { status, body } = await jsonCall(sim.baseUrl, '/__simulator/stats');
    expect(status).toBe(200);
    expect(body).toEqual(sim.controls.stats());
    expect(body.evictedOrders).toBeGreaterThanOrEqual(2);
  });

  it('stays under maxOrders however many orders arrive, and stops notifying a forgotten order', async () => {
    const small = await startSimulator({
      merchants: [TEST_MERCHANT],
      timeScale: 0.001,
      retention: { maxOrders: 50 },
    });
    const endpoint = await startMerchantEndpoint(() => ({ status: 503, body: 'busy' }));
    try {
      const smallClient = new SimClient(small.baseUrl, TEST_MERCHANT);
      const first = orderFields({ notify_url: endpoint.url });
      const created = await smallClient.call('/pay/unifiedorder', first);
      small.controls.requestPayment({
        ...payParams(TEST_MERCHANT, created.fields.prepay_id, 'MD5'),
        openid: PAYER_OPENID,
      });
      await small.controls.waitForNotifications((all) => all.length >= 2);
      for (let i = 0; i < 300; i += 1) {
        expect((await smallClient.unifiedOrder()).fields.result_code).toBe('SUCCESS');
        expect(small.controls.stats().orders).toBeLessThanOrEqual(50);
      }
      expect(small.controls.order(first.out_trade_no as string)).toBeUndefined();
      const seen = endpoint.bodies.length;
      // Two more retry gaps at this time scale (15 ms, 30 ms): a retained order would be sent again.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(endpoint.bodies.length).toBe(seen);
      expect(small.controls.stats()).toMatchObject({ evictedOrders: 251, notificationSends: 0 });
    } finally {
      await endpoint.stop();
      await small.stop();
    }
  });

  it.each([
    [{ maxOrders: 0 }, 'retention.maxOrders must be a positive integer or Infinity'],
    [{ maxOrders: 1.5 }, 'retention.maxOrders must be a positive integer or Infinity'],
    [{ paidOrderMs: -1 }, 'retention.paidOrderMs must be a positive number or Infinity'],
    [{ closedOrderMs: Number.NaN }, 'retention.closedOrderMs must be a positive number'],
  ])('refuses to start with retention %j', async (retention, message) => {
    await expect(startSimulator({ retention })).rejects.toThrow(message);
  });

  it('accepts Infinity to keep orders forever', async () => {
    const forever = await startSimulator({
      retention: { closedOrderMs: Infinity, paidOrderMs: Infinity, maxOrders: Infinity },
    });
    await forever.stop();
    expect(forever.retention.maxOrders).toBe(Infinity);
  });
});
