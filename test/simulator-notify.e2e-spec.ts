import { verify, parseXml } from 'nestjs-wechat-pay-v2/protocol';
import {
  NOTIFY_MAX_SENDS,
  startSimulator,
  TEST_MERCHANT,
  waitFor,
  type NotificationAttempt,
  type RunningSimulator,
} from 'wechat-pay-v2-simulator';
import {
  FAIL_REPLY,
  PAYER_OPENID,
  SUCCESS_REPLY,
  SimClient,
  orderFields,
  payParams,
  startMerchantEndpoint,
  type MerchantEndpoint,
  type MerchantReply,
} from './simulator-support';

const forOrder = (outTradeNo: string) => (attempts: NotificationAttempt[]) =>
  attempts.filter((a) => a.outTradeNo === outTradeNo);

describe('simulator: payment notifications and faults', () => {
  let sim: RunningSimulator;
  let md5: SimClient;
  let hmac: SimClient;
  const endpoints: MerchantEndpoint[] = [];

  beforeAll(async () => {
    sim = await startSimulator({ merchants: [TEST_MERCHANT], timeScale: 0.001 });
    md5 = new SimClient(sim.baseUrl, TEST_MERCHANT, 'MD5');
    hmac = new SimClient(sim.baseUrl, TEST_MERCHANT, 'HMAC-SHA256');
  });

  afterEach(async () => {
    sim.controls.resetFaults();
    await Promise.all(endpoints.splice(0).map((e) => e.stop()));
  });

  afterAll(() => sim.stop());

  async function merchant(
    reply?: (nth: number, body: string) => MerchantReply,
  ): Promise<MerchantEndpoint> {
    const endpoint = await startMerchantEndpoint(reply);
    endpoints.push(endpoint);
    return endpoint;
  }

  /** Creates an order that notifies `endpoint`, pays it and returns its out_trade_no. */
  async function paidOrder(
    client: SimClient,
    endpoint: MerchantEndpoint,
    overrides: Record<string, string | number> = {},
    target: RunningSimulator = sim,
  ): Promise<string> {
    const fields = orderFields({ notify_url: endpoint.url, ...overrides });
    const created = await client.call('/pay/unifiedorder', fields);
    const answer = target.controls.requestPayment({
      ...payParams(client.merchant, created.fields.prepay_id, client.signType),
      openid: PAYER_OPENID,
    });
    expect(answer.errMsg).toBe('requestPayment:ok');
    return fields.out_trade_no as string;
  }

  const settled = (outTradeNo: string) => (attempts: NotificationAttempt[]) =>
    forOrder(outTradeNo)(attempts).some((a) => a.outcome === 'delivered');

  describe('delivery', () => {
    it('delivers a signed MD5 notification without sign_type, once, when the merchant answers SUCCESS', async () => {
      const endpoint = await merchant();
      const outTradeNo = await paidOrder(md5, endpoint, {
        attach: 'cart=1',
        device_info: 'WEB',
        total_fee: 888,
      });
      const attempts = forOrder(outTradeNo)(
        await sim.controls.waitForNotifications(settled(outTradeNo)),
      );
      expect(attempts).toEqual([
        expect.objectContaining({ attempt: 1, copy: 1, outcome: 'delivered', status: 200 }),
      ]);
      const body = await parseXml(endpoint.bodies[0]);
      expect(body).toMatchObject({
        return_code: 'SUCCESS',
        result_code: 'SUCCESS',
        appid: TEST_MERCHANT.appId,
        mch_id: TEST_MERCHANT.mchId,
        device_info: 'WEB',
        openid: PAYER_OPENID,
        is_subscribe: 'N',
        trade_type: 'JSAPI',
        bank_type: 'OTHERS',
        total_fee: '888',
        fee_type: 'CNY',
        cash_fee: '888',
        out_trade_no: outTradeNo,
        attach: 'cart=1',
      });
      expect(body.transaction_id).toMatch(/^42000\d{23}$/);
      expect(body.time_end).toMatch(/^\d{14}$/);
      expect(body.sign_type).toBeUndefined();
      expect(body.sign).toMatch(/^[0-9A-F]{32}$/);
      expect(verify(body, TEST_MERCHANT.apiKey, { fallback: 'MD5' })).toBe(true);
      expect(sim.controls.order(outTradeNo)?.notification).toBe('delivered');
      // Several retry gaps at this time scale: a delivered notification must stay delivered once.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(endpoint.bodies).toHaveLength(1);
    });

    it('sends an HMAC-SHA256 notification with no sign_type, a 64-hex sign only, as real ones come', async () => {
      const endpoint = await merchant();
      const outTradeNo = await paidOrder(hmac, endpoint);
      await sim.controls.waitForNotifications(settled(outTradeNo));
      const body = await parseXml(endpoint.bodies[0]);
      expect(body.sign_type).toBeUndefined();
      expect(endpoint.bodies[0]).not.toContain('sign_type');
      expect(body.sign).toMatch(/^[0-9A-F]{64}$/);
      expect(body.attach).toBeUndefined();
      expect(verify(body, TEST_MERCHANT.apiKey, { fallback: 'MD5', expected: 'HMAC-SHA256' })).toBe(
        true,
      );
      expect(verify(body, TEST_MERCHANT.apiKey, { fallback: 'MD5', expected: 'MD5' })).toBe(false);
    });

    it('echoes the nonce_str of the unifiedorder request in every send of the notification', async () => {
      const endpoint = await merchant((nth) => ({ body: nth < 3 ? FAIL_REPLY : SUCCESS_REPLY }));
      const fields = orderFields({
        notify_url: endpoint.url,
        nonce_str: 'OrderNonce1700000000000',
      });
      const created = await md5.call('/pay/unifiedorder', fields);
      expect(created.fields.nonce_str).not.toBe('OrderNonce1700000000000');
      sim.controls.requestPayment({
        ...payParams(md5.merchant, created.fields.prepay_id, 'MD5'),
        openid: PAYER_OPENID,
      });
      await sim.controls.waitForNotifications(settled(fields.out_trade_no as string));
      expect(endpoint.bodies).toHaveLength(3);
      for (const raw of endpoint.bodies) {
        expect((await parseXml(raw)).nonce_str).toBe('OrderNonce1700000000000');
      }
      expect(new Set(endpoint.bodies).size).toBe(1);
    });

    it('lays the notification out like captures: one element per line, names in order, CDATA integers but total_fee', async () => {
      const endpoint = await merchant();
      const outTradeNo = await paidOrder(md5, endpoint, { total_fee: 1500 });
      await sim.controls.waitForNotifications(settled(outTradeNo));
      const raw = endpoint.bodies[0];
      const lines = raw.split('\n');
      expect(lines[0]).toBe('<xml>');
      expect(lines[lines.length - 1]).toBe('</xml>');
      const names = lines.slice(1, -1).map((line) => /^<([a-z_0-9]+)>/.exec(line)?.[1]);
      expect(names).toEqual([...names].sort());
      expect(raw).toContain('<total_fee>1500</total_fee>');
      expect(raw).toContain('<cash_fee><![CDATA[1500]]></cash_fee>');
      expect(raw).toContain('<cash_fee_type><![CDATA[CNY]]></cash_fee_type>');
      expect(verify(await parseXml(raw), TEST_MERCHANT.apiKey, { fallback: 'MD5' })).toBe(true);
    });

    it('carries the coupon fields of a coupon payment, signed, with total = cash + coupon', async () => {
      const endpoint = await merchant();
      const fields = orderFields({ notify_url: endpoint.url, total_fee: 2000 });
      const created = await hmac.call('/pay/unifiedorder', fields);
      sim.controls.requestPayment({
        ...payParams(hmac.merchant, created.fields.prepay_id, 'HMAC-SHA256'),
        openid: PAYER_OPENID,
        coupon: { fee: 500, id: '12345678901' },
      });
      await sim.controls.waitForNotifications(settled(fields.out_trade_no as string));
      const body = await parseXml(endpoint.bodies[0]);
      expect(body).toMatchObject({
        total_fee: '2000',
        cash_fee: '1500',
        cash_fee_type: 'CNY',
        coupon_fee: '500',
        coupon_count: '1',
        coupon_type_0: 'NO_CASH',
        coupon_id_0: '12345678901',
        coupon_fee_0: '500',
        settlement_total_fee: '1500',
      });
      expect(Number(body.cash_fee) + Number(body.coupon_fee)).toBe(Number(body.total_fee));
      expect(verify(body, TEST_MERCHANT.apiKey, { fallback: 'MD5' })).toBe(true);
      const known = Object.fromEntries(
        Object.entries(body).filter(([name]) => name !== 'coupon_id_0'),
      );
      expect(verify(known, TEST_MERCHANT.apiKey, { fallback: 'MD5' })).toBe(false);
    });

    it('under the plain level sends sign_type, a fresh nonce per send and a compact body', async () => {
      const plain = await startSimulator({
        merchants: [TEST_MERCHANT],
        timeScale: 0.001,
        compat: 'plain',
      });
      try {
        const client = new SimClient(plain.baseUrl, TEST_MERCHANT, 'HMAC-SHA256');
        const endpoint = await merchant((nth) => ({ body: nth < 2 ? FAIL_REPLY : SUCCESS_REPLY }));
        const fields = orderFields({ notify_url: endpoint.url });
        const created = await client.call('/pay/unifiedorder', fields);
        plain.controls.requestPayment({
          ...payParams(TEST_MERCHANT, created.fields.prepay_id, 'HMAC-SHA256'),
          openid: PAYER_OPENID,
        });
        await plain.controls.waitForNotifications(settled(fields.out_trade_no as string));
        const [first, second] = await Promise.all(endpoint.bodies.map((raw) => parseXml(raw)));
        expect(first.sign_type).toBe('HMAC-SHA256');
        expect(first.nonce_str).not.toBe(second.nonce_str);
        expect(first.cash_fee_type).toBeUndefined();
        expect(endpoint.bodies[0]).not.toContain('\n');
        expect(endpoint.bodies[0]).toContain('<cash_fee>100</cash_fee>');
      } finally {
        await plain.stop();
      }
    });

    it('retries on the schedule while the merchant answers FAIL, 500 or junk, until it answers SUCCESS', async () => {
      const replies: MerchantReply[] = [
        { body: FAIL_REPLY },
        { status: 500, body: SUCCESS_REPLY },
        { body: 'ok' },
        { body: SUCCESS_REPLY },
      ];
      const endpoint = await merchant((nth) => replies[nth - 1]);
      const outTradeNo = await paidOrder(md5, endpoint);
      const attempts = forOrder(outTradeNo)(
        await sim.controls.waitForNotifications(settled(outTradeNo)),
      );
      expect(attempts.map((a) => [a.attempt, a.status, a.outcome])).toEqual([
        [1, 200, 'failed'],
        [2, 500, 'failed'],
        [3, 200, 'failed'],
        [4, 200, 'delivered'],
      ]);
      expect(attempts[1].reply).toBe(SUCCESS_REPLY);
      const times = attempts.map((a) => Date.parse(a.sentAt));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      for (const failed of attempts.slice(0, 3)) expect(failed.nextAttemptAt).toBeDefined();
      expect(attempts[3].nextAttemptAt).toBeUndefined();
      expect(endpoint.bodies).toHaveLength(4);
      expect(sim.controls.order(outTradeNo)?.notification).toBe('delivered');
    });

    it('counts a reply slower than the reply timeout as a failure and retries', async () => {
      const patient = await startSimulator({
        merchants: [TEST_MERCHANT],
        timeScale: 0.001,
        notifyReplyTimeoutMs: 50,
      });
      try {
        const endpoint = await merchant((nth) =>
          nth === 1 ? { body: SUCCESS_REPLY, delayMs: 300 } : { body: SUCCESS_REPLY },
        );
        const client = new SimClient(patient.baseUrl, TEST_MERCHANT);
        const outTradeNo = await paidOrder(client, endpoint, {}, patient);
        const attempts = await patient.controls.waitForNotifications(settled(outTradeNo));
        expect(attempts.map((a) => a.outcome)).toEqual(['failed', 'delivered']);
        expect(attempts[0].error).toBe('no reply within 50 ms');
      } finally {
        await patient.stop();
      }
    });

    it('gives up after the 16th send when the merchant never answers SUCCESS', async () => {
      const hurried = await startSimulator({ merchants: [TEST_MERCHANT], timeScale: 0.00001 });
      try {
        const endpoint = await merchant(() => ({ body: FAIL_REPLY }));
        const client = new SimClient(hurried.baseUrl, TEST_MERCHANT);
        const outTradeNo = await paidOrder(client, endpoint, {}, hurried);
        await waitFor(
          () => hurried.controls.order(outTradeNo)?.notification === 'abandoned',
          10_000,
        );
        const attempts = hurried.controls.notifications(outTradeNo);
        expect(attempts.map((a) => a.attempt)).toEqual(
          Array.from({ length: NOTIFY_MAX_SENDS }, (_, i) => i + 1),
        );
        expect(attempts.every((a) => a.outcome === 'failed')).toBe(true);
        expect(attempts[NOTIFY_MAX_SENDS - 1].nextAttemptAt).toBeUndefined();
        expect(endpoint.bodies).toHaveLength(16);
      } finally {
        await hurried.stop();
      }
    });

    it('records a refused connection as a failed attempt with the error', async () => {
      // Its own simulator: this order keeps retrying, which must not consume another test's faults.
      const lonely = await startSimulator({ merchants: [TEST_MERCHANT], timeScale: 0.001 });
      try {
        const endpoint = await merchant();
        await endpoint.stop();
        const outTradeNo = await paidOrder(
          new SimClient(lonely.baseUrl, TEST_MERCHANT),
          endpoint,
          {},
          lonely,
        );
        const [first] = await lonely.controls.waitForNotifications((all) => all.length > 0);
        expect(first).toMatchObject({ outTradeNo, outcome: 'failed', attempt: 1 });
        expect(first.error).toBeDefined();
        expect(first.status).toBeUndefined();
        expect(lonely.controls.order(outTradeNo)?.notification).toBe('pending');
      } finally {
        await lonely.stop();
      }
    });

    it('lists the attempts over HTTP too', async () => {
      const endpoint = await merchant();
      const outTradeNo = await paidOrder(md5, endpoint);
      await sim.controls.waitForNotifications(settled(outTradeNo));
      const res = await fetch(`${sim.baseUrl}/__simulator/notifications?outTradeNo=${outTradeNo}`);
      expect(await res.json()).toEqual([
        expect.objectContaining({ outTradeNo, attempt: 1, outcome: 'delivered' }),
      ]);
    });
  });

  describe('notification faults', () => {
    it('drops the next N sends and delivers on the retry after them', async () => {
      const endpoint = await merchant();
      sim.controls.setFaults({ dropNotifications: 2 });
      const outTradeNo = await paidOrder(md5, endpoint);
      const attempts = forOrder(outTradeNo)(
        await sim.controls.waitForNotifications(settled(outTradeNo)),
      );
      expect(attempts.map((a) => a.outcome)).toEqual(['dropped', 'dropped', 'delivered']);
      expect(endpoint.bodies).toHaveLength(1);
    });

    it('drops every send while the drop fraction is 1, and delivers once it is reset', async () => {
      const endpoint = await merchant();
      sim.controls.setFaults({ dropNotificationRate: 1 });
      const outTradeNo = await paidOrder(md5, endpoint);
      await sim.controls.waitForNotifications((all) => forOrder(outTradeNo)(all).length >= 3);
      expect(endpoint.bodies).toHaveLength(0);
      sim.controls.resetFaults();
      const attempts = forOrder(outTradeNo)(
        await sim.controls.waitForNotifications(settled(outTradeNo), 10_000),
      );
      expect(attempts.slice(0, 3).every((a) => a.outcome === 'dropped')).toBe(true);
      expect(attempts.at(-1)?.outcome).toBe('delivered');
      expect(endpoint.bodies).toHaveLength(1);
    });

    it('sends k identical concurrent copies of one attempt', async () => {
      const endpoint = await merchant();
      sim.controls.setFaults({ notificationCopies: 3 });
      const outTradeNo = await paidOrder(md5, endpoint);
      await sim.controls.waitForNotifications((all) => forOrder(outTradeNo)(all).length === 3);
      const attempts = sim.controls.notifications(outTradeNo);
      expect(attempts.map((a) => [a.attempt, a.copy, a.outcome])).toEqual([
        [1, 1, 'delivered'],
        [1, 2, 'delivered'],
        [1, 3, 'delivered'],
      ]);
      expect(endpoint.bodies).toHaveLength(3);
      expect(new Set(endpoint.bodies).size).toBe(1);
    });

    it('holds a delayed notification back behind one sent later without the delay', async () => {
      const endpoint = await merchant();
      sim.controls.setFaults({ notificationDelayMs: 300 });
      const delayed = await paidOrder(md5, endpoint);
      // Let the delayed send start (and read the fault) before the fault is lifted.
      await new Promise((resolve) => setTimeout(resolve, 20));
      sim.controls.resetFaults();
      const prompt = await paidOrder(md5, endpoint);
      await sim.controls.waitForNotifications(
        (all) => settled(delayed)(all) && settled(prompt)(all),
      );
      const order = await Promise.all(
        endpoint.bodies.map(async (b) => (await parseXml(b)).out_trade_no),
      );
      expect(order).toEqual([prompt, delayed]);
    });
  });

  describe('API faults', () => {
    it('answers a signed SYSTEMERROR to the next call on the chosen path and creates nothing', async () => {
      sim.controls.setFaults({ systemErrorNext: 1, systemErrorPaths: ['/pay/unifiedorder'] });
      const fields = orderFields();
      const failed = await hmac.call('/pay/unifiedorder', fields);
      expect(failed.fields).toMatchObject({
        return_code: 'SUCCESS',
        result_code: 'FAIL',
        err_code: 'SYSTEMERROR',
      });
      expect(hmac.verifies(failed)).toBe(true);
      expect(sim.controls.order(fields.out_trade_no as string)).toBeUndefined();
      const retried = await hmac.call('/pay/unifiedorder', fields);
      expect(retried.fields.result_code).toBe('SUCCESS');
    });

    it('answers SYSTEMERROR to a fraction of calls drawn from the random source', async () => {
      const draws = [0.2, 0.8];
      const seeded = await startSimulator({
        merchants: [TEST_MERCHANT],
        random: () => draws.shift() ?? 1,
      });
      try {
        seeded.controls.setFaults({ systemErrorRate: 0.5 });
        const client = new SimClient(seeded.baseUrl, TEST_MERCHANT);
        expect((await client.unifiedOrder()).fields.err_code).toBe('SYSTEMERROR');
        expect((await client.unifiedOrder()).fields.result_code).toBe('SUCCESS');
      } finally {
        await seeded.stop();
      }
    });

    it('answers jscode2session with errcode -1 under the SYSTEMERROR fault', async () => {
      sim.controls.setFaults({ systemErrorNext: 1, systemErrorPaths: ['/sns/jscode2session'] });
      const { code } = sim.controls.login();
      const query = new URLSearchParams({
        appid: TEST_MERCHANT.appId,
        secret: TEST_MERCHANT.appSecret,
        js_code: code,
        grant_type: 'authorization_code',
      });
      const res = await fetch(`${sim.baseUrl}/sns/jscode2session?${query.toString()}`);
      expect(await res.json()).toMatchObject({ errcode: -1 });
    });

    it('answers too slowly for a client timeout while the order is still created', async () => {
      sim.controls.setFaults({ slowResponseMs: 400, slowPaths: ['/pay/unifiedorder'] });
      const fields = orderFields();
      const call = fetch(`${sim.baseUrl}/pay/unifiedorder`, {
        method: 'POST',
        body: md5.signed(fields),
        signal: AbortSignal.timeout(100),
      });
      await expect(call).rejects.toThrow();
      expect(sim.controls.order(fields.out_trade_no as string)?.tradeState).toBe('NOTPAY');
      const query = await md5.call('/pay/orderquery', { out_trade_no: fields.out_trade_no });
      expect(query.fields.trade_state).toBe('NOTPAY');
    });

    it('corrupts the signature of the next N responses only', async () => {
      sim.controls.setFaults({ corruptSignatureNext: 1 });
      const corrupted = await md5.unifiedOrder();
      expect(corrupted.fields.result_code).toBe('SUCCESS');
      expect(md5.verifies(corrupted)).toBe(false);
      expect(md5.verifies(await md5.unifiedOrder())).toBe(true);
    });
  });
});
