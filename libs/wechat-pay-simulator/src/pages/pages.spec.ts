import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createNonce,
  sign,
  buildXml,
  parseXml,
  formatBeijingTime,
} from 'nestjs-wechat-pay-v2/protocol';
import { startSimulator, type RunningSimulator } from '../simulator';
import { CANCELLED_MESSAGE, PAID_MESSAGE, PROBLEM_MESSAGES } from './cashier';
import { beijingTime } from './html';

const PAYER = 'oPagesPayer0000000000000001';
const HOUR = 60 * 60 * 1000;

describe('simulator pages', () => {
  let sim: RunningSimulator;
  let shop: Server;
  let notifyUrl: string;
  let sequence = 0;

  beforeAll(async () => {
    shop = createServer((req, res) => {
      req.resume();
      req.on('end', () =>
        res.end(
          '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>',
        ),
      );
    });
    await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
    notifyUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}/notify`;
  });

  beforeEach(async () => {
    sim = await startSimulator({ timeScale: 0.001, closeOrderMinAgeMs: 0 });
  });

  afterEach(() => sim.stop());

  afterAll(() => new Promise<void>((resolve) => shop.close(() => resolve())));

  /** A JSAPI order placed the way a merchant server places it; resolves with its prepay_id. */
  async function placeOrder(
    body: string,
    totalFee: number,
    extra: Record<string, string> = {},
  ): Promise<{ outTradeNo: string; prepayId: string }> {
    sequence += 1;
    const outTradeNo = `PAGES${Date.now()}${sequence}`;
    const { appId, mchId, apiKey } = sim.merchant;
    const fields: Record<string, string | number> = {
      appid: appId,
      mch_id: mchId,
      nonce_str: createNonce(),
      body,
      out_trade_no: outTradeNo,
      total_fee: totalFee,
      spbill_create_ip: '127.0.0.1',
      notify_url: notifyUrl,
      trade_type: 'JSAPI',
      openid: PAYER,
      ...extra,
    };
    const res = await fetch(`${sim.baseUrl}/pay/unifiedorder`, {
      method: 'POST',
      body: buildXml({ ...fields, sign: sign(fields, apiKey, 'MD5') }),
    });
    const reply = await parseXml(await res.text());
    if (reply.result_code !== 'SUCCESS')
      throw new Error(`unifiedorder failed: ${JSON.stringify(reply)}`);
    return { outTradeNo, prepayId: reply.prepay_id };
  }

  const get = (path: string) => fetch(`${sim.baseUrl}${path}`, { redirect: 'manual' });
  const cashierPath = (prepayId: string, openid = PAYER) =>
    `/__simulator/cashier?${new URLSearchParams({ prepay_id: prepayId, openid })}`;
  const decide = async (body: unknown) => {
    const res = await fetch(`${sim.baseUrl}/__simulator/cashier/pay`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  describe('cashier', () => {
    it('shows the merchant, the escaped description and the amount in yuan with Pay and Cancel', async () => {
      const { prepayId } = await placeOrder('<img src=x onerror=alert(1)> 奶茶 & "cake"', 1234);
      const res = await get(cashierPath(prepayId));
      const html = await res.text();
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(html).toContain('Merchant 1900000109');
      expect(html).toContain('<span id="amount">12.34</span>');
      expect(html).toContain('&lt;img src=x onerror=alert(1)&gt; 奶茶 &amp; &quot;cake&quot;');
      expect(html).not.toContain('<img src=x');
      expect(html).toContain('id="pay"');
      expect(html).toContain('id="cancel"');
    });

    it('pays the order when the user taps Pay, and starts the notification', async () => {
      const { outTradeNo, prepayId } = await placeOrder('Tea', 800);
      const answer = await decide({ prepay_id: prepayId, openid: PAYER, outcome: 'pay' });
      expect(answer).toEqual({
        status: 200,
        body: { errMsg: 'requestPayment:ok', state: 'paid', message: PAID_MESSAGE },
      });
      expect(sim.controls.order(outTradeNo)).toMatchObject({ tradeState: 'SUCCESS', cashFee: 800 });
      await sim.controls.waitForNotifications((all) =>
        all.some((a) => a.outTradeNo === outTradeNo && a.outcome === 'delivered'),
      );
    });

    it('takes a coupon with Pay, so the user pays the rest in cash', async () => {
      const { outTradeNo, prepayId } = await placeOrder('券', 800);
      const answer = await decide({
        prepay_id: prepayId,
        openid: PAYER,
        outcome: 'pay',
        coupon: { fee: 200 },
      });
      expect(answer.body).toMatchObject({ state: 'paid' });
      expect(sim.controls.order(outTradeNo)).toMatchObject({ cashFee: 600, coupon: { fee: 200 } });
      const refused = await decide({
        prepay_id: (await placeOrder('券', 100)).prepayId,
        openid: PAYER,
        outcome: 'pay',
        coupon: { fee: 'lots' },
      });
      expect(refused).toMatchObject({
        status: 400,
        body: { error: expect.stringContaining('coupon.fee') },
      });
    });

    it('leaves the order unpaid when the user taps Cancel', async () => {
      const { outTradeNo, prepayId } = await placeOrder('Tea', 800);
      const answer = await decide({ prepay_id: prepayId, openid: PAYER, outcome: 'cancel' });
      expect(answer.body).toEqual({
        errMsg: 'requestPayment:fail cancel',
        state: 'cancelled',
        message: CANCELLED_MESSAGE,
      });
      expect(sim.controls.order(outTradeNo)?.tradeState).toBe('NOTPAY');
      expect(sim.controls.notifications(outTradeNo)).toEqual([]);
    });

    it('refuses a user who did not place the order, on the page and on Pay', async () => {
      const { outTradeNo, prepayId } = await placeOrder('Tea', 800);
      const html = await (await get(cashierPath(prepayId, 'oSomeoneElse'))).text();
      expect(html).toContain(PROBLEM_MESSAGES['other-user']);
      expect(html).not.toContain('id="pay"');
      const answer = await decide({ prepay_id: prepayId, openid: 'oSomeoneElse', outcome: 'pay' });
      expect(answer.body).toMatchObject({
        errMsg: 'requestPayment:fail 当前用户不是下单用户',
        state: 'refused',
        problem: 'other-user',
      });
      expect(sim.controls.order(outTradeNo)?.tradeState).toBe('NOTPAY');
    });

    it('says an order is already paid instead of charging it twice', async () => {
      const { prepayId } = await placeOrder('Tea', 800);
      await decide({ prepay_id: prepayId, openid: PAYER, outcome: 'pay' });
      const again = await decide({ prepay_id: prepayId, openid: PAYER, outcome: 'pay' });
      expect(again.body).toMatchObject({ state: 'refused', problem: 'paid' });
      expect(await (await get(cashierPath(prepayId))).text()).toContain(PROBLEM_MESSAGES.paid);
      expect(sim.controls.notifications().filter((a) => a.attempt === 1)).toHaveLength(1);
    });

    it("shows the order's own expiry, not the prepay_id's 2 hours", async () => {
      const expiresAt = new Date(sim.controls.now().getTime() + 15 * 60 * 1000);
      expiresAt.setUTCSeconds(0, 0);
      const { outTradeNo, prepayId } = await placeOrder('短单', 100, {
        time_expire: formatBeijingTime(expiresAt),
      });
      const order = sim.controls.order(outTradeNo);
      expect(order?.expiresAt).toBe(expiresAt.toISOString());
      const html = await (await get(cashierPath(prepayId))).text();
      expect(html).toContain(
        `<dd class="mono" id="pay-before">${beijingTime(expiresAt.toISOString())} (Beijing time)</dd>`,
      );
      expect(html).not.toContain(beijingTime(order?.prepayExpiresAt as string));
    });

    it('says the prepay_id has expired once its 2 hours are over', async () => {
      const { outTradeNo, prepayId } = await placeOrder('Tea', 800);
      sim.controls.advanceClock(2 * HOUR);
      expect(await (await get(cashierPath(prepayId))).text()).toContain(PROBLEM_MESSAGES.expired);
      const answer = await decide({ prepay_id: prepayId, openid: PAYER, outcome: 'pay' });
      expect(answer.body).toMatchObject({ state: 'refused', problem: 'expired' });
      expect(sim.controls.order(outTradeNo)?.tradeState).toBe('NOTPAY');
    });

    it('says a closed order can no longer be paid', async () => {
      const { prepayId } = await placeOrder('Tea', 800);
      sim.controls.advanceClock(25 * HOUR);
      const answer = await decide({ prepay_id: prepayId, openid: PAYER, outcome: 'pay' });
      expect(answer.body).toMatchObject({ state: 'refused', problem: 'closed' });
    });

    it('answers 404 with a clear message for an unknown prepay_id and 400 without parameters', async () => {
      const unknown = await get(cashierPath('wx_not_a_prepay_id'));
      expect(unknown.status).toBe(404);
      expect(await unknown.text()).toContain(PROBLEM_MESSAGES['unknown-prepay']);
      const bare = await get('/__simulator/cashier');
      expect(bare.status).toBe(400);
      expect(await bare.text()).toContain('needs both prepay_id and openid');
    });

    it('answers 400 when Pay is posted without an openid or with an unknown outcome', async () => {
      const { prepayId } = await placeOrder('Tea', 800);
      expect(await decide({ prepay_id: prepayId, outcome: 'pay' })).toEqual({
        status: 400,
        body: { error: 'openid is required' },
      });
      expect(await decide({ prepay_id: prepayId, openid: PAYER, outcome: 'success' })).toEqual({
        status: 400,
        body: { error: 'outcome must be pay or cancel' },
      });
    });
  });

  describe('dashboard', () => {
    it('lists orders with state and yuan amount, and each notification send with its reply', async () => {
      const paid = await placeOrder('Paid <tea>', 1999);
      const open = await placeOrder('Open order', 5);
      await decide({ prepay_id: paid.prepayId, openid: PAYER, outcome: 'pay' });
      await sim.controls.waitForNotifications((all) => all.some((a) => a.outcome === 'delivered'));

      const html = await (await get('/__simulator/')).text();
      const orders = html.slice(html.indexOf('id="orders"'), html.indexOf('id="notifications"'));
      expect(orders).toContain(paid.outTradeNo);
      expect(orders).toContain(
        '<td class="ok">SUCCESS</td><td>¥19.99</td><td>Paid &lt;tea&gt;</td>',
      );
      expect(orders).toContain('<td>NOTPAY</td><td>¥0.05</td>');
      expect(orders).toContain(`cashier?prepay_id=${open.prepayId}`);
      expect(orders).not.toContain(`cashier?prepay_id=${paid.prepayId}`);
      const notifications = html.slice(html.indexOf('id="notifications"'));
      expect(notifications).toContain(paid.outTradeNo);
      expect(notifications).toContain('<td>200</td>');
      expect(notifications).toContain('&lt;return_code&gt;&lt;![CDATA[SUCCESS]]&gt;');
      expect(notifications).toContain('<td class="ok">delivered</td>');
    });

    it('serves the refreshed part alone and shows the faults that are switched on', async () => {
      sim.controls.setFaults({ dropNotifications: 2, slowPaths: ['/pay/orderquery'] });
      const live = await get('/__simulator/dashboard/live');
      const html = await live.text();
      expect(live.status).toBe(200);
      expect(html).not.toContain('<html');
      expect(html).toContain('dropNotifications=2, slowPaths=[&quot;/pay/orderquery&quot;]');
      const page = await (await get('/__simulator/')).text();
      expect(page).toMatch(/name="dropNotifications"[^>]*value="2"/);
      expect(page).toMatch(/name="slowPaths" value="\/pay\/orderquery" checked/);
    });

    it('redirects /__simulator to the dashboard and leaves the JSON endpoints as they were', async () => {
      const res = await get('/__simulator');
      expect(res.status).toBe(308);
      expect(res.headers.get('location')).toBe('/__simulator/');
      const orders = await get('/__simulator/orders');
      expect(orders.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect((await get('/__simulator/nothing-here')).status).toBe(404);
    });
  });
});
