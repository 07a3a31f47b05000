import { MetricsService } from '../../apps/demo/src/metrics/metrics.service';
import type { WechatPayGatewayCallEvent, WechatPayNotificationEvent } from 'nestjs-wechat-pay-v2';
import { ReconcilerService } from '../../apps/demo/src/reconciler/reconciler.service';
import { DemoHarness } from './harness';

const UNTIL_FIRST_CHECK_MS = 6_000;

/** The value of one sample line, e.g. `shop_orders{status="PAID"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('demo metrics at /metrics', () => {
  let harness: DemoHarness;

  beforeAll(async () => {
    harness = await DemoHarness.start();
  });

  afterAll(() => harness?.close());

  async function scrape(): Promise<string> {
    const res = await harness.http().get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain;.*version=0\.0\.4/);
    return res.text;
  }

  it('describes every shop and WeChat Pay metric, plus the process ones', async () => {
    const text = await scrape();
    for (const name of [
      'wechatpay_gateway_calls_total',
      'wechatpay_gateway_call_duration_seconds',
      'wechatpay_notifications_total',
      'shop_reconciler_passes_total',
      'shop_reconciler_orders_total',
      'shop_reconciler_pass_duration_seconds',
      'shop_reconciler_due_orders',
      'shop_orders',
      'process_cpu_user_seconds_total',
    ]) {
      expect(text).toContain(`# HELP ${name} `);
    }
  });

  it('counts gateway calls by endpoint and result, with their latency, as the module reports them', async () => {
    const metrics = harness.get(MetricsService);
    const calls: WechatPayGatewayCallEvent[] = [
      { endpoint: '/pay/unifiedorder', result: 'SUCCESS', durationMs: 120 },
      { endpoint: '/pay/unifiedorder', result: 'SUCCESS', durationMs: 80 },
      { endpoint: '/pay/unifiedorder', result: 'SYSTEMERROR', durationMs: 3000 },
      { endpoint: '/pay/orderquery', result: 'TRANSPORT', durationMs: 8000 },
    ];
    for (const call of calls) metrics.onGatewayCall(call);

    const text = await scrape();
    const count = (endpoint: string, result: string) =>
      sample(text, `wechatpay_gateway_calls_total{endpoint="${endpoint}",result="${result}"}`);
    expect(count('/pay/unifiedorder', 'SUCCESS')).toBe(2);
    expect(count('/pay/unifiedorder', 'SYSTEMERROR')).toBe(1);
    expect(count('/pay/orderquery', 'TRANSPORT')).toBe(1);
    const duration = 'wechatpay_gateway_call_duration_seconds';
    expect(sample(text, `${duration}_count{endpoint="/pay/unifiedorder"}`)).toBe(3);
    expect(sample(text, `${duration}_sum{endpoint="/pay/unifiedorder"}`)).toBeCloseTo(3.2);
    expect(sample(text, `${duration}_bucket{le="0.1",endpoint="/pay/unifiedorder"}`)).toBe(1);
    expect(sample(text, `${duration}_bucket{le="4",endpoint="/pay/unifiedorder"}`)).toBe(3);
  });

  it('counts notifications by kind and outcome, and keeps odd label values tame', async () => {
    const metrics = harness.get(MetricsService);
    const events: WechatPayNotificationEvent[] = [
      { kind: 'payment', outcome: 'HANDLED' },
      { kind: 'payment', outcome: 'HANDLED' },
      { kind: 'payment', outcome: 'BAD_SIGNATURE' },
      { kind: 'refund', outcome: 'ACKNOWLEDGED' },
      { kind: 'payment', outcome: 'odd "value"\nwith a newline' },
    ];
    for (const event of events) metrics.onNotification(event);

    const text = await scrape();
    const seen = (kind: string, outcome: string) =>
      sample(text, `wechatpay_notifications_total{kind="${kind}",outcome="${outcome}"}`);
    expect(seen('payment', 'HANDLED')).toBe(2);
    expect(seen('payment', 'BAD_SIGNATURE')).toBe(1);
    expect(seen('refund', 'ACKNOWLEDGED')).toBe(1);
    expect(seen('payment', 'odd__value__with_a_newline')).toBe(1);
  });

  it('counts orders by status and the reconciler backlog at scrape time, and passes by outcome', async () => {
    const shopper = await harness.login();
    const paid = await harness.placeOrder(shopper);
    harness.payAtWechat(shopper, paid.payParams);
    await harness.waitForStatus(paid.orderNo, 'PAID');
    await harness.placeOrder(shopper);
    await harness.placeOrder(shopper);

    let text = await scrape();
    expect(sample(text, 'shop_orders{status="PAID"}')).toBe(1);
    expect(sample(text, 'shop_orders{status="UNPAID"}')).toBe(2);
    expect(sample(text, 'shop_orders{status="CLOSED"}')).toBe(0);
    expect(sample(text, 'shop_reconciler_due_orders')).toBe(0);

    harness.advanceClocks(UNTIL_FIRST_CHECK_MS);
    expect(sample(await scrape(), 'shop_reconciler_due_orders')).toBe(2);

    const summary = await harness.get(ReconcilerService).runOnce();
    expect(summary.claimed).toBe(2);
    await harness.get(ReconcilerService).runOnce();

    text = await scrape();
    expect(sample(text, 'shop_reconciler_due_orders')).toBe(0);
    expect(sample(text, 'shop_reconciler_passes_total{outcome="ok"}')).toBe(1);
    expect(sample(text, 'shop_reconciler_passes_total{outcome="idle"}')).toBe(1);
    expect(sample(text, 'shop_reconciler_orders_total{outcome="unpaid"}')).toBe(2);
    expect(sample(text, 'shop_reconciler_pass_duration_seconds_count')).toBe(1);
  });

  it('is fed by the WeChat Pay module itself: a real checkout and its notification are counted', async () => {
    const unifiedorder =
      'wechatpay_gateway_calls_total{endpoint="/pay/unifiedorder",result="SUCCESS"}';
    const handled = 'wechatpay_notifications_total{kind="payment",outcome="HANDLED"}';
    const before = await scrape();
    const shopper = await harness.login();
    const order = await harness.placeOrder(shopper);
    harness.payAtWechat(shopper, order.payParams);
    await harness.waitForDelivery(order.orderNo);

    const after = await scrape();
    expect((sample(after, unifiedorder) ?? 0) - (sample(before, unifiedorder) ?? 0)).toBe(1);
    expect((sample(after, handled) ?? 0) - (sample(before, handled) ?? 0)).toBeGreaterThanOrEqual(
      1,
    );
    expect(
      sample(
        after,
        'wechatpay_gateway_calls_total{endpoint="/sns/jscode2session",result="SUCCESS"}',
      ),
    ).toBeGreaterThanOrEqual(1);
  });

  it('is left out of the API description', async () => {
    const res = await harness.http().get('/docs-json').expect(200);
    expect(Object.keys((res.body as { paths: object }).paths)).not.toContain('/metrics');
  });
});

describe('demo metrics access', () => {
  const TOKEN = 'a-metrics-token-for-the-tests';

  it.each([
    ['with NODE_ENV=production and no token', 404, { NODE_ENV: 'production' }],
    ['with METRICS=off', 404, { METRICS: 'off' }],
    ['with NODE_ENV=production and METRICS=on', 200, { NODE_ENV: 'production', METRICS: 'on' }],
  ])('%s answers %d', async (_case, status, env) => {
    const harness = await DemoHarness.start({ env });
    try {
      expect((await harness.http().get('/metrics')).status).toBe(status);
    } finally {
      await harness.close();
    }
  });

  it('requires the token as a Bearer token when METRICS_TOKEN is set, in production too', async () => {
    const harness = await DemoHarness.start({
      env: { NODE_ENV: 'production', METRICS_TOKEN: TOKEN },
    });
    try {
      for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${TOKEN}`, TOKEN]) {
        const call = harness.http().get('/metrics');
        const res = await (authorization ? call.set('Authorization', authorization) : call);
        expect(res.status).toBe(401);
        expect(res.text).not.toContain(TOKEN);
      }
      const ok = await harness.http().get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
      expect(ok.status).toBe(200);
      expect(ok.text).toContain('# HELP shop_orders ');
    } finally {
      await harness.close();
    }
  });
});
