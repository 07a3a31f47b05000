import { startSimulator, TEST_MERCHANT, type RunningSimulator } from 'wechat-pay-v2-simulator';
import {
  PAYER_OPENID,
  SimClient,
  beijingIn,
  newOrderNo,
  orderFields,
  payParams,
  type XmlReply,
} from './simulator-support';

const SECOND_MERCHANT = {
  appId: 'wx0000000000000b02',
  mchId: '1900000202',
  apiKey: 'SecondMerchantKey0123456789abcde',
  appSecret: 'second-merchant-secret',
};

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('simulator: pay APIs (unifiedorder, orderquery, closeorder)', () => {
  let sim: RunningSimulator;
  let md5: SimClient;
  let hmac: SimClient;

  beforeAll(async () => {
    sim = await startSimulator({ merchants: [TEST_MERCHANT, SECOND_MERCHANT] });
    md5 = new SimClient(sim.baseUrl, sim.merchant, 'MD5');
    hmac = new SimClient(sim.baseUrl, sim.merchant, 'HMAC-SHA256');
  });

  afterAll(() => sim.stop());

  const simNow = () => sim.controls.now().getTime();

  async function pay(client: SimClient, prepayId: string, openid = PAYER_OPENID) {
    return sim.controls.requestPayment({
      ...payParams(client.merchant, prepayId, client.signType),
      openid,
    });
  }

  function expectBusinessFailure(
    reply: XmlReply,
    client: SimClient,
    errCode: string,
    errCodeDes?: string,
  ) {
    expect(reply.fields).toMatchObject({
      return_code: 'SUCCESS',
      result_code: 'FAIL',
      err_code: errCode,
    });
    if (errCodeDes !== undefined) expect(reply.fields.err_code_des).toBe(errCodeDes);
    expect(client.verifies(reply)).toBe(true);
  }

  describe('unifiedorder', () => {
    it('answers an MD5 JSAPI order with a signed prepay_id shaped like a real one', async () => {
      const fields = orderFields();
      const reply = await md5.call('/pay/unifiedorder', fields);
      expect(reply.status).toBe(200);
      expect(reply.fields).toMatchObject({
        return_code: 'SUCCESS',
        return_msg: 'OK',
        result_code: 'SUCCESS',
        appid: TEST_MERCHANT.appId,
        mch_id: TEST_MERCHANT.mchId,
        trade_type: 'JSAPI',
      });
      expect(reply.fields.prepay_id).toMatch(/^wx\d{14}[0-9a-f]{20}$/);
      expect(reply.fields.sign).toMatch(/^[0-9A-F]{32}$/);
      expect(reply.fields.sign_type).toBeUndefined();
      expect(md5.verifies(reply)).toBe(true);
      expect(sim.controls.order(fields.out_trade_no as string)).toMatchObject({
        tradeState: 'NOTPAY',
        totalFee: 100,
        signType: 'MD5',
      });
    });

    it('signs the answer to an HMAC-SHA256 request with HMAC-SHA256 and a fresh nonce', async () => {
      const reply = await hmac.unifiedOrder();
      expect(reply.fields.result_code).toBe('SUCCESS');
      expect(reply.fields.sign).toMatch(/^[0-9A-F]{64}$/);
      expect(hmac.verifies(reply)).toBe(true);
      expect(md5.verifies(reply)).toBe(false);
      const again = await hmac.unifiedOrder();
      expect(again.fields.nonce_str).not.toBe(reply.fields.nonce_str);
    });

    it('accepts a body of 127 Chinese characters and echoes device_info', async () => {
      const reply = await md5.unifiedOrder({ body: '茶'.repeat(127), device_info: 'WEB' });
      expect(reply.fields.result_code).toBe('SUCCESS');
      expect(reply.fields.device_info).toBe('WEB');
      expect(md5.verifies(reply)).toBe(true);
    });

    const otherKeyClient = () =>
      new SimClient(sim.baseUrl, { ...TEST_MERCHANT, apiKey: 'X'.repeat(32) });
    const unsignedBody = (fields: Record<string, string | number | undefined>) => {
      const signed = md5.signed(fields);
      return signed.replace(/<sign>.*?<\/sign>/, '');
    };

    type Case = [string, () => Promise<XmlReply>, string];
    const cases: Case[] = [
      ['the body is not XML', () => md5.post('/pay/unifiedorder', 'hello'), 'XML格式错误'],
      ['the body is empty', () => md5.post('/pay/unifiedorder', ''), 'post数据为空'],
      [
        'the body declares a DOCTYPE',
        () => md5.post('/pay/unifiedorder', '<!DOCTYPE x [<!ENTITY a "b">]><xml><a>&a;</a></xml>'),
        'XML格式错误',
      ],
      ['the signature uses another key', () => otherKeyClient().unifiedOrder(), '签名错误'],
      [
        'the signature is missing',
        () => md5.post('/pay/unifiedorder', unsignedBody(orderFields())),
        '签名错误',
      ],
      [
        'the body was changed after signing',
        () =>
          md5.post(
            '/pay/unifiedorder',
            md5.signed(orderFields()).replace('<total_fee>100', '<total_fee>1'),
          ),
        '签名错误',
      ],
      [
        'a required field is missing',
        () => md5.unifiedOrder({ spbill_create_ip: undefined }),
        '缺少参数',
      ],
      [
        'body is 128 characters',
        () => md5.unifiedOrder({ body: 'a'.repeat(128) }),
        'body参数长度有误',
      ],
      [
        'appid is too long',
        () => md5.unifiedOrder({ appid: 'wx'.padEnd(33, '0') }),
        'appid参数长度有误',
      ],
      [
        'out_trade_no is shorter than 6',
        () => md5.unifiedOrder({ out_trade_no: 'A1234' }),
        'out_trade_no参数长度有误',
      ],
      [
        'out_trade_no has a #',
        () => md5.unifiedOrder({ out_trade_no: 'ORDER#123' }),
        'out_trade_no参数格式错误',
      ],
      [
        'notify_url has a query string',
        () => md5.unifiedOrder({ notify_url: 'https://example.com/notify?x=1' }),
        'notify_url参数格式错误',
      ],
      [
        'time_expire is not a calendar time',
        () => md5.unifiedOrder({ time_expire: '20241332000000' }),
        'time_expire参数格式错误',
      ],
      [
        'sign_type is unknown',
        () => md5.unifiedOrder({ sign_type: 'SHA1' }),
        'sign_type参数格式错误',
      ],
      [
        'a JSAPI order has no openid',
        () => md5.unifiedOrder({ openid: undefined }),
        'JSAPI支付必须传openid',
      ],
      [
        'the trade type is not enabled for the merchant',
        () => md5.unifiedOrder({ trade_type: 'NATIVE', product_id: 'p1' }),
        '商户号该产品权限未开通，请前往商户平台>产品中心检查后重试',
      ],
      [
        'the appid is not bound to the mch_id',
        () => md5.unifiedOrder({ appid: SECOND_MERCHANT.appId }),
        '商户号mch_id与appid不匹配',
      ],
      [
        'the appid is unknown',
        () => md5.unifiedOrder({ appid: 'wx00000000000000ff' }),
        'appid不存在',
      ],
      [
        'the mch_id is unknown',
        () => md5.unifiedOrder({ mch_id: '1234567' }),
        '商户号mch_id或sub_mch_id不存在',
      ],
      [
        'spbill_create_ip is not an IP address',
        () => md5.unifiedOrder({ spbill_create_ip: 'localhost' }),
        'invalid spbill_create_ip',
      ],
      ['the method is GET', () => md5.post('/pay/unifiedorder', '', 'GET'), '请使用post方法'],
      [
        'the body exceeds 64 KiB',
        () => md5.unifiedOrder({ detail: 'x'.repeat(70 * 1024) }),
        'post数据过大',
      ],
    ];

    it.each(cases)(
      'answers an unsigned FAIL and creates nothing when %s',
      async (_label, send, returnMsg) => {
        const before = sim.controls.orders().length;
        const reply = await send();
        expect(reply.status).toBe(200);
        expect(reply.fields).toEqual({ return_code: 'FAIL', return_msg: returnMsg });
        expect(sim.controls.orders()).toHaveLength(before);
      },
    );

    it.each([['0'], ['-5'], ['1.5'], ['abc']])(
      'refuses total_fee=%s with a signed PARAM_ERROR',
      async (totalFee) => {
        const fields = orderFields({ total_fee: totalFee });
        const reply = await hmac.call('/pay/unifiedorder', fields);
        expectBusinessFailure(reply, hmac, 'PARAM_ERROR', 'total_fee必须是大于0的整数，单位为分');
        expect(sim.controls.order(fields.out_trade_no as string)).toBeUndefined();
      },
    );

    it('refuses a time_expire less than 5 minutes away and accepts one 6 minutes away', async () => {
      const short = await md5.unifiedOrder({ time_expire: beijingIn(4, simNow()) });
      expectBusinessFailure(
        short,
        md5,
        'PARAM_ERROR',
        'time_expire时间过短，刷卡至少1分钟，其他5分钟',
      );
      const fine = await md5.unifiedOrder({ time_expire: beijingIn(6, simNow()) });
      expect(fine.fields.result_code).toBe('SUCCESS');
    });
  });

  describe('re-entry with the same out_trade_no', () => {
    it('returns the same live prepay_id for identical parameters, whatever the nonce and caller IP', async () => {
      const fields = orderFields();
      const first = await md5.call('/pay/unifiedorder', fields);
      const again = await hmac.call('/pay/unifiedorder', {
        ...fields,
        spbill_create_ip: '10.1.2.3',
      });
      expect(again.fields.result_code).toBe('SUCCESS');
      expect(again.fields.prepay_id).toBe(first.fields.prepay_id);
      expect(hmac.verifies(again)).toBe(true);
      expect(sim.controls.order(fields.out_trade_no as string)?.signType).toBe('HMAC-SHA256');
    });

    it('mints a new prepay_id once the old one is 2 hours old', async () => {
      const fields = orderFields();
      const first = await md5.call('/pay/unifiedorder', fields);
      sim.controls.advanceClock(2 * HOUR + 1000);
      const again = await md5.call('/pay/unifiedorder', fields);
      expect(again.fields.result_code).toBe('SUCCESS');
      expect(again.fields.prepay_id).toMatch(/^wx\d{14}[0-9a-f]{20}$/);
      expect(again.fields.prepay_id).not.toBe(first.fields.prepay_id);
      expect(sim.controls.order(fields.out_trade_no as string)).toMatchObject({
        tradeState: 'NOTPAY',
        prepayId: again.fields.prepay_id,
      });
    });

    it.each([
      ['amount', { total_fee: 101 }],
      ['body', { body: 'changed' }],
      ['attach (added)', { attach: 'x' }],
    ])(
      'answers INVALID_REQUEST 201 when the %s changed and keeps the first order',
      async (_label, change) => {
        const fields = orderFields();
        await md5.call('/pay/unifiedorder', fields);
        const reply = await md5.call('/pay/unifiedorder', { ...fields, ...change });
        expectBusinessFailure(reply, md5, 'INVALID_REQUEST', '201 商户订单号重复');
        expect(sim.controls.order(fields.out_trade_no as string)).toMatchObject({
          totalFee: 100,
          attach: '',
        });
      },
    );

    it('answers ORDERPAID once the order is paid', async () => {
      const fields = orderFields();
      const first = await md5.call('/pay/unifiedorder', fields);
      expect((await pay(md5, first.fields.prepay_id)).errMsg).toBe('requestPayment:ok');
      const reply = await md5.call('/pay/unifiedorder', fields);
      expectBusinessFailure(reply, md5, 'ORDERPAID', '该订单已支付');
    });

    it('answers ORDERCLOSED once the order is closed', async () => {
      const fields = orderFields();
      await md5.call('/pay/unifiedorder', fields);
      sim.controls.advanceClock(5 * MINUTE);
      const closed = await md5.call('/pay/closeorder', { out_trade_no: fields.out_trade_no });
      expect(closed.fields.result_code).toBe('SUCCESS');
      const reply = await md5.call('/pay/unifiedorder', fields);
      expectBusinessFailure(reply, md5, 'ORDERCLOSED', '订单已关闭');
    });
  });

  describe('expiry on the simulator clock', () => {
    it('closes an order when its time_expire passes, so it can be neither paid nor re-entered', async () => {
      const fields = orderFields({ time_expire: beijingIn(10, simNow()) });
      const created = await md5.call('/pay/unifiedorder', fields);
      sim.controls.advanceClock(11 * MINUTE);
      const query = await md5.call('/pay/orderquery', { out_trade_no: fields.out_trade_no });
      expect(query.fields).toMatchObject({
        result_code: 'SUCCESS',
        trade_state: 'CLOSED',
        trade_state_desc: '订单已关闭',
      });
      expect((await pay(md5, created.fields.prepay_id)).errMsg).toBe(
        'requestPayment:fail 订单已关闭',
      );
      expectBusinessFailure(await md5.call('/pay/unifiedorder', fields), md5, 'ORDERCLOSED');
      expect(sim.controls.order(fields.out_trade_no as string)).toMatchObject({
        closedBy: 'expiry',
      });
    });

    it('closes an order without time_expire after the 24-hour default', async () => {
      const fields = orderFields();
      await md5.call('/pay/unifiedorder', fields);
      sim.controls.advanceClock(23 * HOUR);
      expect(
        (await md5.call('/pay/orderquery', { out_trade_no: fields.out_trade_no })).fields
          .trade_state,
      ).toBe('NOTPAY');
      sim.controls.advanceClock(HOUR);
      expect(
        (await md5.call('/pay/orderquery', { out_trade_no: fields.out_trade_no })).fields
          .trade_state,
      ).toBe('CLOSED');
    });
  });

  describe('orderquery', () => {
    it('answers an unpaid order with the minimal NOTPAY field set', async () => {
      const fields = orderFields({ attach: 'cart=7' });
      await hmac.call('/pay/unifiedorder', fields);
      const reply = await hmac.call('/pay/orderquery', { out_trade_no: fields.out_trade_no });
      expect(Object.keys(reply.fields).sort()).toEqual(
        [
          'appid',
          'mch_id',
          'nonce_str',
          'out_trade_no',
          'result_code',
          'return_code',
          'return_msg',
          'sign',
          'total_fee',
          'trade_state',
          'trade_state_desc',
        ].sort(),
      );
      expect(reply.fields).toMatchObject({
        trade_state: 'NOTPAY',
        trade_state_desc: '订单未支付',
        total_fee: '100',
      });
      expect(hmac.verifies(reply)).toBe(true);
    });

    it('answers a paid order with the full SUCCESS field set, by out_trade_no and by transaction_id', async () => {
      const fields = orderFields({ attach: 'cart=8', total_fee: 2590 });
      const created = await md5.call('/pay/unifiedorder', fields);
      expect((await pay(md5, created.fields.prepay_id)).errMsg).toBe('requestPayment:ok');
      const reply = await md5.call('/pay/orderquery', { out_trade_no: fields.out_trade_no });
      expect(md5.verifies(reply)).toBe(true);
      expect(reply.fields).toMatchObject({
        result_code: 'SUCCESS',
        trade_state: 'SUCCESS',
        trade_state_desc: '支付成功',
        out_trade_no: fields.out_trade_no,
        openid: PAYER_OPENID,
        is_subscribe: 'N',
        trade_type: 'JSAPI',
        bank_type: 'OTHERS',
        total_fee: '2590',
        cash_fee: '2590',
        fee_type: 'CNY',
        attach: 'cart=8',
      });
      expect(reply.fields.transaction_id).toMatch(/^42000\d{23}$/);
      expect(reply.fields.time_end).toMatch(/^\d{14}$/);
      const byId = await md5.call('/pay/orderquery', {
        transaction_id: reply.fields.transaction_id,
      });
      expect(byId.fields).toMatchObject({
        trade_state: 'SUCCESS',
        out_trade_no: fields.out_trade_no,
      });
    });

    it('reports PAYERROR after a failed payment', async () => {
      const fields = orderFields();
      const created = await md5.call('/pay/unifiedorder', fields);
      const answer = await sim.controls.requestPayment({
        ...payParams(md5.merchant, created.fields.prepay_id, 'MD5'),
        openid: PAYER_OPENID,
        outcome: 'fail',
      });
      expect(answer.errMsg).toMatch(/^requestPayment:fail /);
      const reply = await md5.call('/pay/orderquery', { out_trade_no: fields.out_trade_no });
      expect(reply.fields.trade_state).toBe('PAYERROR');
    });

    it('answers ORDERNOTEXIST 此交易订单号不存在 for an unknown out_trade_no or transaction_id', async () => {
      expectBusinessFailure(
        await md5.call('/pay/orderquery', { out_trade_no: newOrderNo() }),
        md5,
        'ORDERNOTEXIST',
        '此交易订单号不存在',
      );
      expectBusinessFailure(
        await md5.call('/pay/orderquery', { transaction_id: '4200000000202401010000000000' }),
        md5,
        'ORDERNOTEXIST',
        '此交易订单号不存在',
      );
    });

    it('lays out a paid answer one element per line with cash_fee_type, and signs what it sends', async () => {
      const fields = orderFields();
      const created = await hmac.call('/pay/unifiedorder', fields);
      expect(created.text).not.toContain('\n');
      await pay(hmac, created.fields.prepay_id);
      const reply = await hmac.call('/pay/orderquery', { out_trade_no: fields.out_trade_no });
      expect(reply.text.startsWith('<xml>\n<return_code>')).toBe(true);
      expect(reply.text.split('\n')).toHaveLength(Object.keys(reply.fields).length + 2);
      expect(reply.text).toContain('<total_fee>100</total_fee>');
      expect(reply.fields).toMatchObject({ cash_fee: '100', cash_fee_type: 'CNY' });
      expect(hmac.verifies(reply)).toBe(true);
    });

    it('reports the coupon of a coupon payment with amounts that add up', async () => {
      const fields = orderFields({ total_fee: 1000 });
      const created = await md5.call('/pay/unifiedorder', fields);
      const answer = sim.controls.requestPayment({
        ...payParams(md5.merchant, created.fields.prepay_id, 'MD5'),
        openid: PAYER_OPENID,
        coupon: { fee: 300, id: '20240101001' },
      });
      expect(answer.errMsg).toBe('requestPayment:ok');
      const reply = await md5.call('/pay/orderquery', { out_trade_no: fields.out_trade_no });
      expect(reply.fields).toMatchObject({
        total_fee: '1000',
        cash_fee: '700',
        coupon_fee: '300',
        coupon_count: '1',
        coupon_type_0: 'NO_CASH',
        coupon_id_0: '20240101001',
        coupon_fee_0: '300',
        settlement_total_fee: '700',
      });
      expect(md5.verifies(reply)).toBe(true);
      expect(sim.controls.order(fields.out_trade_no as string)).toMatchObject({
        cashFee: 700,
        coupon: { fee: 300, type: 'NO_CASH', id: '20240101001' },
      });
    });

    it('leaves settlement_total_fee out for a pre-funded CASH coupon', async () => {
      const fields = orderFields({ total_fee: 500 });
      const created = await md5.call('/pay/unifiedorder', fields);
      sim.controls.requestPayment({
        ...payParams(md5.merchant, created.fields.prepay_id, 'MD5'),
        openid: PAYER_OPENID,
        coupon: { fee: 100, type: 'CASH' },
      });
      const reply = await md5.call('/pay/orderquery', { out_trade_no: fields.out_trade_no });
      expect(reply.fields).toMatchObject({
        cash_fee: '400',
        coupon_fee: '100',
        coupon_type_0: 'CASH',
      });
      expect(reply.fields.coupon_id_0).toMatch(/^\d{10}$/);
      expect(reply.fields.settlement_total_fee).toBeUndefined();
    });

    it.each([
      [{ fee: 100 }, 'less than the order total_fee'],
      [{ fee: 0 }, 'positive integer'],
      [{ fee: 10, type: 'GIFT' }, 'CASH or NO_CASH'],
      [{ fee: 10, id: 'abc' }, '1-20 digits'],
    ])('refuses the coupon %j and leaves the order unpaid', async (coupon, message) => {
      const fields = orderFields();
      const created = await md5.call('/pay/unifiedorder', fields);
      expect(() =>
        sim.controls.requestPayment({
          ...payParams(md5.merchant, created.fields.prepay_id, 'MD5'),
          openid: PAYER_OPENID,
          coupon: coupon as { fee: number },
        }),
      ).toThrow(message);
      expect(sim.controls.order(fields.out_trade_no as string)?.tradeState).toBe('NOTPAY');
    });

    it('answers 缺少参数 when neither out_trade_no nor transaction_id is given', async () => {
      expect((await md5.call('/pay/orderquery', {})).fields).toEqual({
        return_code: 'FAIL',
        return_msg: '缺少参数',
      });
    });

    it('does not show one merchant the orders of another', async () => {
      const fields = orderFields();
      await md5.call('/pay/unifiedorder', fields);
      const second = new SimClient(sim.baseUrl, SECOND_MERCHANT, 'MD5');
      expectBusinessFailure(
        await second.call('/pay/orderquery', { out_trade_no: fields.out_trade_no }),
        second,
        'ORDERNOTEXIST',
      );
    });
  });

  describe('closeorder', () => {
    it('refuses to close an order younger than 5 minutes with SYSTEMERROR and leaves it payable', async () => {
      const fields = orderFields();
      await md5.call('/pay/unifiedorder', fields);
      sim.controls.advanceClock(4 * MINUTE);
      const reply = await md5.call('/pay/closeorder', { out_trade_no: fields.out_trade_no });
      expectBusinessFailure(reply, md5, 'SYSTEMERROR');
      expect(sim.controls.order(fields.out_trade_no as string)?.tradeState).toBe('NOTPAY');
    });

    it('closes an order after 5 minutes, then answers ORDERCLOSED to a second close', async () => {
      const fields = orderFields();
      await hmac.call('/pay/unifiedorder', fields);
      sim.controls.advanceClock(5 * MINUTE);
      const reply = await hmac.call('/pay/closeorder', { out_trade_no: fields.out_trade_no });
      expect(reply.fields).toMatchObject({
        return_code: 'SUCCESS',
        result_code: 'SUCCESS',
        result_msg: 'OK',
      });
      expect(hmac.verifies(reply)).toBe(true);
      const query = await hmac.call('/pay/orderquery', { out_trade_no: fields.out_trade_no });
      expect(query.fields.trade_state).toBe('CLOSED');
      expectBusinessFailure(
        await hmac.call('/pay/closeorder', { out_trade_no: fields.out_trade_no }),
        hmac,
        'ORDERCLOSED',
      );
    });

    it('answers ORDERPAID for a paid order and ORDERNOTEXIST for an unknown one', async () => {
      const fields = orderFields();
      const created = await md5.call('/pay/unifiedorder', fields);
      await pay(md5, created.fields.prepay_id);
      sim.controls.advanceClock(5 * MINUTE);
      expectBusinessFailure(
        await md5.call('/pay/closeorder', { out_trade_no: fields.out_trade_no }),
        md5,
        'ORDERPAID',
      );
      expectBusinessFailure(
        await md5.call('/pay/closeorder', { out_trade_no: newOrderNo() }),
        md5,
        'ORDERNOTEXIST',
      );
    });

    it('closes at once when closeOrderMinAgeMs is 0', async () => {
      const eager = await startSimulator({ closeOrderMinAgeMs: 0, merchants: [TEST_MERCHANT] });
      try {
        const client = new SimClient(eager.baseUrl, TEST_MERCHANT);
        const fields = orderFields();
        await client.call('/pay/unifiedorder', fields);
        const reply = await client.call('/pay/closeorder', { out_trade_no: fields.out_trade_no });
        expect(reply.fields.result_code).toBe('SUCCESS');
      } finally {
        await eager.stop();
      }
    });
  });

  describe('scripted business failures', () => {
    afterEach(() => sim.controls.resetFaults());

    it.each([
      ['/pay/unifiedorder', 'NOAUTH', '商户无此接口权限'],
      ['/pay/unifiedorder', 'NOTENOUGH', '余额不足'],
      ['/pay/unifiedorder', 'OUT_TRADE_NO_USED', '商户订单号重复'],
    ] as const)(
      'answers %s with a signed %s once, creating nothing',
      async (path, errCode, errCodeDes) => {
        sim.controls.setFaults({ businessErrors: [{ path, errCode }] });
        const fields = orderFields();
        expectBusinessFailure(await hmac.call(path, fields), hmac, errCode, errCodeDes);
        expect(sim.controls.order(fields.out_trade_no as string)).toBeUndefined();
        expect(sim.controls.faults().businessErrors).toEqual([]);
        expect((await hmac.call(path, fields)).fields.result_code).toBe('SUCCESS');
      },
    );

    it('answers closeorder with TRADE_STATE_ERROR and leaves the order open', async () => {
      const fields = orderFields();
      await md5.call('/pay/unifiedorder', fields);
      sim.controls.advanceClock(5 * MINUTE);
      sim.controls.setFaults({
        businessErrors: [{ path: '/pay/closeorder', errCode: 'TRADE_STATE_ERROR' }],
      });
      const close = () => md5.call('/pay/closeorder', { out_trade_no: fields.out_trade_no });
      expectBusinessFailure(await close(), md5, 'TRADE_STATE_ERROR', '订单状态错误');
      expect(sim.controls.order(fields.out_trade_no as string)?.tradeState).toBe('NOTPAY');
      expect((await close()).fields.result_code).toBe('SUCCESS');
    });

    it('uses scripted failures in order, each on its own path', async () => {
      sim.controls.setFaults({
        businessErrors: [
          { path: '/pay/closeorder', errCode: 'SYSTEMERROR' },
          { path: '/pay/unifiedorder', errCode: 'NOAUTH' },
          { path: '/pay/unifiedorder', errCode: 'NOTENOUGH' },
        ],
      });
      expect((await md5.unifiedOrder()).fields.err_code).toBe('NOAUTH');
      expect((await md5.unifiedOrder()).fields.err_code).toBe('NOTENOUGH');
      expect(sim.controls.faults().businessErrors).toEqual([
        { path: '/pay/closeorder', errCode: 'SYSTEMERROR' },
      ]);
    });

    it.each([
      [[{ path: '/pay/orderquery', errCode: 'NOAUTH' }]],
      [[{ path: '/pay/refund', errCode: 'SYSTEMERROR' }]],
      [[{ path: '/pay/unifiedorder' }]],
      [[{ path: '/pay/unifiedorder', errCode: 'NOAUTH', extra: 1 }]],
      ['NOAUTH'],
    ])('refuses the script %j, naming the allowed codes', (businessErrors) => {
      expect(() => sim.controls.setFaults({ businessErrors } as never)).toThrow(
        /businessErrors must be a list of \{ path, errCode \} with \/pay\/unifiedorder: NOAUTH/,
      );
      expect(sim.controls.faults().businessErrors).toEqual([]);
    });
  });

  describe('paths that are not WeChat APIs', () => {
    it.each([['/pay/refundx'], ['/'], ['/secapi/pay/unknown']])(
      'answers %s with a plain HTTP 404, not JSON',
      async (path) => {
        const res = await fetch(`${sim.baseUrl}${path}`, { method: 'POST', body: '<xml/>' });
        expect(res.status).toBe(404);
        expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
        expect(await res.text()).toBe('404 Not Found');
      },
    );
  });

  describe('the plain compat level', () => {
    let plain: RunningSimulator;
    let client: SimClient;

    beforeAll(async () => {
      plain = await startSimulator({
        compat: 'plain',
        merchants: [TEST_MERCHANT, SECOND_MERCHANT],
      });
      client = new SimClient(plain.baseUrl, TEST_MERCHANT, 'MD5');
    });

    afterAll(() => plain.stop());

    it.each([
      [{ appid: SECOND_MERCHANT.appId }, 'appid和mch_id不匹配'],
      [{ appid: 'wx00000000000000ff' }, 'appid和mch_id不匹配'],
      [{ mch_id: '1234567' }, '商户号mch_id不存在'],
      [{ spbill_create_ip: 'localhost' }, 'spbill_create_ip参数格式错误'],
    ])('keeps the earlier text for %j', async (change, returnMsg) => {
      expect((await client.unifiedOrder(change)).fields).toEqual({
        return_code: 'FAIL',
        return_msg: returnMsg,
      });
    });

    it('answers orderquery compactly, with 订单不存在 for an unknown order', async () => {
      const reply = await client.call('/pay/orderquery', { out_trade_no: newOrderNo() });
      expect(reply.text).not.toContain('\n');
      expect(reply.fields.err_code_des).toBe('订单不存在');
    });

    it('refuses coupons, whose fields it does not send', async () => {
      const created = await client.unifiedOrder();
      expect(() =>
        plain.controls.requestPayment({
          ...payParams(TEST_MERCHANT, created.fields.prepay_id, 'MD5'),
          openid: PAYER_OPENID,
          coupon: { fee: 1 },
        }),
      ).toThrow('coupons need the extensionFields realism item');
    });

    it('reports its items, and a single item can be pinned on top of a level', async () => {
      expect(plain.realism).toEqual({
        notifySignType: true,
        echoOrderNonce: false,
        capturedTexts: false,
        extensionFields: false,
        newlines: false,
        cdataIntegers: false,
      });
      const mixed = await startSimulator({ compat: 'plain', realism: { capturedTexts: true } });
      try {
        const reply = await new SimClient(mixed.baseUrl, mixed.merchant).unifiedOrder({
          spbill_create_ip: 'localhost',
        });
        expect(reply.fields.return_msg).toBe('invalid spbill_create_ip');
        expect(mixed.realism.newlines).toBe(false);
      } finally {
        await mixed.stop();
      }
    });

    it.each([
      [{ compat: 'strict' }, 'compat must be one of faithful, plain'],
      [{ realism: { newline: true } }, 'newline is not a realism item'],
      [{ realism: { newlines: 'yes' } }, 'newlines must be true or false'],
    ])('refuses to start with %j', async (options, message) => {
      await expect(startSimulator(options as never)).rejects.toThrow(message);
    });
  });

  it('serves 200 concurrent orders with distinct, verifiable prepay ids', async () => {
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 ? md5 : hmac).unifiedOrder().then((r) => [r, i % 2 ? md5 : hmac] as const),
      ),
    );
    for (const [reply, client] of replies) {
      expect(reply.fields.result_code).toBe('SUCCESS');
      expect(client.verifies(reply)).toBe(true);
    }
    expect(new Set(replies.map(([r]) => r.fields.prepay_id)).size).toBe(200);
  });
});
