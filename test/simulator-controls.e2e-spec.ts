import { startSimulator, TEST_MERCHANT, type RunningSimulator } from 'wechat-pay-v2-simulator';
import { PAYER_OPENID, SimClient, jsonCall, orderFields, payParams } from './simulator-support';

const SECOND_MERCHANT = {
  appId: 'wx0000000000000c03',
  mchId: '1900000303',
  apiKey: 'ThirdMerchantKey0123456789abcdef',
  appSecret: 'second-merchant-secret',
};

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

interface LoginReply {
  openid?: string;
  session_key?: string;
  errcode?: number;
  errmsg?: string;
}

describe('simulator: login, wx.requestPayment and the control surface', () => {
  let sim: RunningSimulator;
  let md5: SimClient;
  let hmac: SimClient;

  beforeAll(async () => {
    sim = await startSimulator({ merchants: [TEST_MERCHANT, SECOND_MERCHANT] });
    md5 = new SimClient(sim.baseUrl, TEST_MERCHANT, 'MD5');
    hmac = new SimClient(sim.baseUrl, TEST_MERCHANT, 'HMAC-SHA256');
  });

  afterAll(() => sim.stop());

  function code2Session(query: Record<string, string | undefined>) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query))
      if (value !== undefined) params.set(name, value);
    return jsonCall<LoginReply>(sim.baseUrl, `/sns/jscode2session?${params.toString()}`);
  }

  const validQuery = (code: string, merchant = TEST_MERCHANT) => ({
    appid: merchant.appId,
    secret: merchant.appSecret,
    js_code: code,
    grant_type: 'authorization_code',
  });

  describe('GET /sns/jscode2session', () => {
    it('trades a code from the login control for the openid and a 24-character session key', async () => {
      const grant = await jsonCall<{ code: string; openid: string }>(
        sim.baseUrl,
        '/__simulator/login',
        'POST',
        {},
      );
      expect(grant.status).toBe(200);
      expect(grant.body.openid).toMatch(/^o[A-Za-z0-9_-]{27}$/);
      const reply = await code2Session(validQuery(grant.body.code));
      expect(reply.status).toBe(200);
      expect(reply.body.openid).toBe(grant.body.openid);
      expect(reply.body.session_key).toHaveLength(24);
      expect(reply.body.errcode).toBeUndefined();
    });

    it('answers 40163 the second time a code is used', async () => {
      const { code } = sim.controls.login();
      expect((await code2Session(validQuery(code))).body.openid).toBeDefined();
      const again = await code2Session(validQuery(code));
      expect(again.body.errcode).toBe(40163);
      expect(again.body.errmsg).toMatch(/^code been used, rid: [0-9a-f-]+$/);
    });

    it('answers 40029 to an unknown code and to a code more than 5 minutes old', async () => {
      expect((await code2Session(validQuery('0'.repeat(32)))).body.errcode).toBe(40029);
      const { code } = sim.controls.login();
      sim.controls.advanceClock(5 * MINUTE);
      const reply = await code2Session(validQuery(code));
      expect(reply.body.errcode).toBe(40029);
      expect(reply.body.errmsg).toMatch(/^invalid code, rid: /);
    });

    it('answers 40029 to a code issued for another mini program', async () => {
      const { code } = sim.controls.login({ appid: SECOND_MERCHANT.appId });
      expect((await code2Session(validQuery(code))).body.errcode).toBe(40029);
    });

    it('gives a named user the same openid every time under one AppID and another one under a second AppID', () => {
      const first = sim.controls.login({ user: 'alice' });
      const second = sim.controls.login({ user: 'alice' });
      const elsewhere = sim.controls.login({ user: 'alice', appid: SECOND_MERCHANT.appId });
      expect(second.openid).toBe(first.openid);
      expect(second.code).not.toBe(first.code);
      expect(elsewhere.openid).not.toBe(first.openid);
      expect(sim.controls.login().openid).not.toBe(sim.controls.login().openid);
    });

    it('logs in the user with a given openid', async () => {
      const { code } = sim.controls.login({ openid: PAYER_OPENID });
      expect((await code2Session(validQuery(code))).body.openid).toBe(PAYER_OPENID);
    });

    it.each([
      [40125, 'the secret is wrong', { secret: 'wrong' }],
      [41002, 'appid is missing', { appid: undefined }],
      [41004, 'secret is missing', { secret: undefined }],
      [41008, 'js_code is missing', { js_code: undefined }],
      [40002, 'grant_type is wrong', { grant_type: 'client_credential' }],
      [40013, 'the appid is unknown', { appid: 'wx9999999999999999' }],
    ])('answers errcode %d when %s, and the code stays usable', async (errcode, _label, change) => {
      const { code, openid } = sim.controls.login();
      const reply = await code2Session({ ...validQuery(code), ...change });
      expect(reply.body.errcode).toBe(errcode);
      expect(reply.body.errmsg).toMatch(/, rid: /);
      expect(JSON.stringify(reply.body)).not.toContain(TEST_MERCHANT.appSecret);
      expect((await code2Session(validQuery(code))).body.openid).toBe(openid);
    });
  });

  describe('POST /__simulator/request-payment', () => {
    async function newOrder(client: SimClient, openid = PAYER_OPENID) {
      const fields = orderFields({ openid });
      const reply = await client.call('/pay/unifiedorder', fields);
      return { outTradeNo: fields.out_trade_no as string, prepayId: reply.fields.prepay_id };
    }

    const requestPayment = (body: Record<string, unknown>) =>
      jsonCall<{ errMsg?: string; error?: string }>(
        sim.baseUrl,
        '/__simulator/request-payment',
        'POST',
        body,
      );

    it.each([['MD5'], ['HMAC-SHA256']] as const)(
      'accepts a correct %s paySign, marks the order paid and answers requestPayment:ok',
      async (signType) => {
        const client = signType === 'MD5' ? md5 : hmac;
        const { outTradeNo, prepayId } = await newOrder(client);
        const reply = await requestPayment({
          ...payParams(TEST_MERCHANT, prepayId, signType),
          openid: PAYER_OPENID,
        });
        expect(reply).toEqual({ status: 200, body: { errMsg: 'requestPayment:ok' } });
        expect(sim.controls.order(outTradeNo)).toMatchObject({
          tradeState: 'SUCCESS',
          bankType: 'OTHERS',
          cashFee: 100,
          notification: expect.stringMatching(/^(pending|delivered|abandoned)$/),
        });
      },
    );

    it('refuses a tampered paySign and leaves the order unpaid', async () => {
      const { outTradeNo, prepayId } = await newOrder(md5);
      const params = payParams(TEST_MERCHANT, prepayId, 'MD5');
      const reply = await requestPayment({
        ...params,
        timeStamp: String(Number(params.timeStamp) + 1),
        openid: PAYER_OPENID,
      });
      expect(reply.body.errMsg).toBe('requestPayment:fail 支付验证签名失败');
      expect(sim.controls.order(outTradeNo)?.tradeState).toBe('NOTPAY');
    });

    it('refuses a paySign made with another algorithm than the order', async () => {
      const { outTradeNo, prepayId } = await newOrder(hmac);
      const reply = await requestPayment({
        ...payParams(TEST_MERCHANT, prepayId, 'MD5'),
        openid: PAYER_OPENID,
      });
      expect(reply.body.errMsg).toMatch(/^requestPayment:fail signType/);
      expect(sim.controls.order(outTradeNo)?.tradeState).toBe('NOTPAY');
    });

    it('refuses a numeric timeStamp the way the mini-program API does', async () => {
      const { prepayId } = await newOrder(md5);
      const params = payParams(TEST_MERCHANT, prepayId, 'MD5');
      const reply = await requestPayment({
        ...params,
        timeStamp: Number(params.timeStamp),
        openid: PAYER_OPENID,
      });
      expect(reply.body.errMsg).toBe(
        'requestPayment:fail parameter error: parameter.timeStamp should be String instead of Number;',
      );
    });

    it('refuses a prepay_id older than 2 hours', async () => {
      const { outTradeNo, prepayId } = await newOrder(md5);
      sim.controls.advanceClock(2 * HOUR);
      const reply = await requestPayment({
        ...payParams(TEST_MERCHANT, prepayId, 'MD5'),
        openid: PAYER_OPENID,
      });
      expect(reply.body.errMsg).toBe('requestPayment:fail prepay_id已过期，请重新下单');
      expect(sim.controls.order(outTradeNo)?.tradeState).toBe('NOTPAY');
    });

    it('refuses a user who is not the one the order was made for', async () => {
      const { outTradeNo, prepayId } = await newOrder(md5);
      const reply = await requestPayment({
        ...payParams(TEST_MERCHANT, prepayId, 'MD5'),
        openid: 'oSomeoneElse00000000000000001',
      });
      expect(reply.body.errMsg).toBe('requestPayment:fail 当前用户不是下单用户');
      expect(sim.controls.order(outTradeNo)?.tradeState).toBe('NOTPAY');
    });

    it('refuses an unknown prepay_id and a second payment of a paid order', async () => {
      const unknown = await requestPayment({
        ...payParams(TEST_MERCHANT, 'wx20240101000000aaaaaaaaaaaaaaaaaaaa', 'MD5'),
        openid: PAYER_OPENID,
      });
      expect(unknown.body.errMsg).toBe('requestPayment:fail prepay_id无效');
      const { prepayId } = await newOrder(md5);
      const params = { ...payParams(TEST_MERCHANT, prepayId, 'MD5'), openid: PAYER_OPENID };
      expect((await requestPayment(params)).body.errMsg).toBe('requestPayment:ok');
      expect((await requestPayment(params)).body.errMsg).toBe('requestPayment:fail 该订单已支付');
    });

    it('leaves the order unpaid when the user cancels', async () => {
      const { outTradeNo, prepayId } = await newOrder(md5);
      const reply = await requestPayment({
        ...payParams(TEST_MERCHANT, prepayId, 'MD5'),
        openid: PAYER_OPENID,
        outcome: 'cancel',
      });
      expect(reply.body.errMsg).toBe('requestPayment:fail cancel');
      expect(sim.controls.order(outTradeNo)?.tradeState).toBe('NOTPAY');
      expect(sim.controls.notifications(outTradeNo)).toEqual([]);
    });

    it('marks the order PAYERROR when the payment fails, and lets the user pay again', async () => {
      const { outTradeNo, prepayId } = await newOrder(md5);
      const params = { ...payParams(TEST_MERCHANT, prepayId, 'MD5'), openid: PAYER_OPENID };
      const failed = await requestPayment({ ...params, outcome: 'fail' });
      expect(failed.body.errMsg).toMatch(/^requestPayment:fail 支付失败/);
      expect(sim.controls.order(outTradeNo)?.tradeState).toBe('PAYERROR');
      expect((await requestPayment(params)).body.errMsg).toBe('requestPayment:ok');
      expect(sim.controls.order(outTradeNo)?.tradeState).toBe('SUCCESS');
    });

    it('answers 400 when the test omits the payer or names an unknown outcome', async () => {
      const { prepayId } = await newOrder(md5);
      const params = payParams(TEST_MERCHANT, prepayId, 'MD5');
      expect(await requestPayment({ ...params })).toEqual({
        status: 400,
        body: { error: 'openid of the paying user is required' },
      });
      expect(
        (await requestPayment({ ...params, openid: PAYER_OPENID, outcome: 'maybe' })).status,
      ).toBe(400);
    });
  });

  describe('control endpoints', () => {
    it('sets, reads and resets faults, and names a bad fault field', async () => {
      const set = await jsonCall(sim.baseUrl, '/__simulator/faults', 'POST', {
        dropNotifications: 2,
        slowResponseMs: 10,
      });
      expect(set.body).toMatchObject({ dropNotifications: 2, slowResponseMs: 10 });
      expect((await jsonCall(sim.baseUrl, '/__simulator/faults')).body).toMatchObject({
        dropNotifications: 2,
      });
      const bad = await jsonCall(sim.baseUrl, '/__simulator/faults', 'POST', {
        dropNotificationRate: 3,
      });
      expect(bad).toEqual({
        status: 400,
        body: { error: expect.stringContaining('dropNotificationRate') },
      });
      const reset = await jsonCall(sim.baseUrl, '/__simulator/faults', 'DELETE');
      expect(reset.body).toMatchObject({
        dropNotifications: 0,
        slowResponseMs: 0,
        notificationCopies: 1,
      });
    });

    it('lists orders and shows one by out_trade_no, or 404', async () => {
      const fields = orderFields();
      await md5.call('/pay/unifiedorder', fields);
      const list = await jsonCall<Array<{ outTradeNo: string }>>(
        sim.baseUrl,
        '/__simulator/orders',
      );
      expect(list.body.map((o) => o.outTradeNo)).toContain(fields.out_trade_no);
      const one = await jsonCall(sim.baseUrl, `/__simulator/orders/${String(fields.out_trade_no)}`);
      expect(one.body).toMatchObject({
        outTradeNo: fields.out_trade_no,
        tradeState: 'NOTPAY',
        totalFee: 100,
      });
      expect(JSON.stringify(list.body)).not.toContain(TEST_MERCHANT.apiKey);
      expect((await jsonCall(sim.baseUrl, '/__simulator/orders/NOPE000000')).status).toBe(404);
    });

    it('moves the clock forward and refuses to move it back', async () => {
      const before = Date.parse(
        (await jsonCall<{ now: string }>(sim.baseUrl, '/__simulator/clock')).body.now,
      );
      const after = await jsonCall<{ now: string }>(sim.baseUrl, '/__simulator/clock', 'POST', {
        advanceMs: HOUR,
      });
      expect(Date.parse(after.body.now) - before).toBeGreaterThanOrEqual(HOUR);
      expect(
        (await jsonCall(sim.baseUrl, '/__simulator/clock', 'POST', { advanceMs: -1 })).status,
      ).toBe(400);
    });

    it('answers 400 to a body that is not JSON and 404 to an unknown endpoint', async () => {
      const res = await fetch(`${sim.baseUrl}/__simulator/login`, {
        method: 'POST',
        body: '{oops',
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'the body must be JSON' });
      expect((await jsonCall(sim.baseUrl, '/__simulator/nothing')).status).toBe(404);
    });
  });
});
