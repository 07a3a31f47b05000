import { Test, type TestingModule } from '@nestjs/testing';
import {
  WechatLoginService,
  WechatPayBusinessError,
  WechatPayGateway,
  WechatPayLoginError,
  WechatPayModule,
  WechatPayReturnError,
  WechatPaySignatureError,
  WechatPayTransportError,
  type SignType,
  type UnifiedOrderRequest,
  type WechatPayModuleOptions,
} from 'nestjs-wechat-pay-v2';
import { startSimulator, TEST_MERCHANT, type RunningSimulator } from 'wechat-pay-v2-simulator';
import { newOrderNo } from './simulator-support';

const HMAC_MERCHANT = {
  appId: 'wx0000000000000d04',
  mchId: '1900000404',
  apiKey: 'HmacMerchantKey0123456789abcdefg',
  appSecret: 'hmac-merchant-secret',
};

const PAYER = 'oGatewayPayer00000000000000001';
const MINUTE = 60_000;

describe('WechatPayGateway against the simulator', () => {
  let sim: RunningSimulator;
  const modules: TestingModule[] = [];

  beforeAll(async () => {
    sim = await startSimulator({ merchants: [TEST_MERCHANT, HMAC_MERCHANT] });
  });

  afterEach(() => sim.controls.resetFaults());

  afterAll(async () => {
    await Promise.all(modules.splice(0).map((m) => m.close()));
    await sim.stop();
  });

  async function moduleFor(
    merchant: typeof TEST_MERCHANT,
    signType: SignType,
    overrides: Partial<WechatPayModuleOptions> = {},
  ): Promise<TestingModule> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        WechatPayModule.forRoot({
          appId: merchant.appId,
          mchId: merchant.mchId,
          apiKey: merchant.apiKey,
          appSecret: merchant.appSecret,
          signType,
          baseUrl: sim.baseUrl,
          apiBaseUrl: sim.baseUrl,
          notifyUrl: 'http://127.0.0.1:9/wechat/notify',
          notifyController: false,
          ...overrides,
        }),
      ],
    }).compile();
    modules.push(moduleRef);
    return moduleRef;
  }

  const gatewayFor = async (...args: Parameters<typeof moduleFor>) =>
    (await moduleFor(...args)).get(WechatPayGateway);
  const loginFor = async (...args: Parameters<typeof moduleFor>) =>
    (await moduleFor(...args)).get(WechatLoginService);

  const order = (overrides: Partial<UnifiedOrderRequest> = {}): UnifiedOrderRequest => ({
    outTradeNo: newOrderNo('GW'),
    body: '网关测试-咖啡',
    totalFee: 1234,
    openid: PAYER,
    spbillCreateIp: '127.0.0.1',
    ...overrides,
  });

  async function rejection(promise: Promise<unknown>): Promise<unknown> {
    try {
      await promise;
    } catch (err) {
      return err;
    }
    throw new Error('expected the call to fail');
  }

  describe.each([
    ['an MD5 merchant', TEST_MERCHANT, 'MD5'],
    ['an HMAC-SHA256 merchant', HMAC_MERCHANT, 'HMAC-SHA256'],
  ] as const)('for %s', (_label, merchant, signType) => {
    let gateway: WechatPayGateway;
    let login: WechatLoginService;

    beforeAll(async () => {
      const moduleRef = await moduleFor(merchant, signType);
      gateway = moduleRef.get(WechatPayGateway);
      login = moduleRef.get(WechatLoginService);
    });

    it('creates an order whose pay parameters the WeChat client accepts, then sees it paid', async () => {
      const request = order({ attach: 'cart=42' });
      const { order: created, payParams } = await gateway.createJsapiPayment(request);
      expect(created.signType).toBe(signType);
      expect(payParams.package).toBe(`prepay_id=${created.prepayId}`);
      expect(
        sim.controls.requestPayment({ ...payParams, openid: PAYER, appid: merchant.appId }),
      ).toEqual({
        errMsg: 'requestPayment:ok',
      });
      const paid = await gateway.orderQuery({ outTradeNo: request.outTradeNo });
      expect(paid).toMatchObject({
        tradeState: 'SUCCESS',
        outTradeNo: request.outTradeNo,
        totalFee: 1234,
        cashFee: 1234,
        openid: PAYER,
        attach: 'cart=42',
      });
      if (paid.tradeState !== 'SUCCESS')
        throw new Error(`expected SUCCESS, got ${paid.tradeState}`);
      expect(paid.transactionId).toMatch(/^42000\d{23}$/);
      expect(paid).toMatchObject({ appId: merchant.appId, mchId: merchant.mchId });
      expect(paid.timeEnd).toMatch(/^\d{14}$/);
      const byId = await gateway.orderQuery({ transactionId: paid.transactionId });
      expect(byId.outTradeNo).toBe(request.outTradeNo);
    });

    it('gets the same prepay id back for an identical unifiedorder', async () => {
      const request = order();
      const first = await gateway.unifiedOrder(request);
      const again = await gateway.unifiedOrder(request);
      expect(again.prepayId).toBe(first.prepayId);
    });

    it('closes an unpaid order after 5 minutes and then queries it as CLOSED', async () => {
      const request = order();
      await gateway.unifiedOrder(request);
      const early = await rejection(gateway.closeOrder(request.outTradeNo));
      expect(early).toBeInstanceOf(WechatPayBusinessError);
      expect(early).toMatchObject({ errCode: 'SYSTEMERROR', retryable: true });
      sim.controls.advanceClock(5 * MINUTE);
      await expect(gateway.closeOrder(request.outTradeNo)).resolves.toMatchObject({
        raw: expect.objectContaining({ result_code: 'SUCCESS' }),
      });
      await expect(gateway.orderQuery({ outTradeNo: request.outTradeNo })).resolves.toMatchObject({
        tradeState: 'CLOSED',
      });
      const again = await rejection(gateway.closeOrder(request.outTradeNo));
      expect(again).toMatchObject({ errCode: 'ORDERCLOSED', retryable: false });
    });

    it('exchanges a login code for the openid once, then fails with 40163', async () => {
      const grant = sim.controls.login({ appid: merchant.appId, user: 'gateway-user' });
      const session = await login.code2Session(grant.code);
      expect(session.openid).toBe(grant.openid);
      expect(session.sessionKey).toHaveLength(24);
      const reused = await rejection(login.code2Session(grant.code));
      expect(reused).toBeInstanceOf(WechatPayLoginError);
      expect(reused).toMatchObject({ errcode: 40163, retryable: false });
    });

    it('reports ORDERPAID for a paid order and ORDERNOTEXIST for an unknown one', async () => {
      const request = order();
      const { payParams } = await gateway.createJsapiPayment(request);
      sim.controls.requestPayment({ ...payParams, openid: PAYER });
      const paid = await rejection(gateway.unifiedOrder(request));
      expect(paid).toBeInstanceOf(WechatPayBusinessError);
      expect(paid).toMatchObject({
        errCode: 'ORDERPAID',
        errCodeDes: '该订单已支付',
        retryable: false,
      });
      const unknown = await rejection(gateway.orderQuery({ outTradeNo: newOrderNo('GW') }));
      expect(unknown).toMatchObject({ errCode: 'ORDERNOTEXIST', retryable: false });
      const closing = await rejection(gateway.closeOrder(request.outTradeNo));
      expect(closing).toMatchObject({ errCode: 'ORDERPAID' });
    });

    it('reports a SYSTEMERROR fault as a retryable business error, and the retry succeeds', async () => {
      sim.controls.setFaults({ systemErrorNext: 1, systemErrorPaths: ['/pay/unifiedorder'] });
      const request = order();
      const failed = await rejection(gateway.unifiedOrder(request));
      expect(failed).toBeInstanceOf(WechatPayBusinessError);
      expect(failed).toMatchObject({ errCode: 'SYSTEMERROR', retryable: true });
      await expect(gateway.unifiedOrder(request)).resolves.toMatchObject({ signType });
    });

    it('rejects a response whose signature was corrupted', async () => {
      sim.controls.setFaults({ corruptSignatureNext: 1 });
      const err = await rejection(gateway.unifiedOrder(order()));
      expect(err).toBeInstanceOf(WechatPaySignatureError);
      expect((err as WechatPaySignatureError).rawBody).toContain('<prepay_id>');
    });
  });

  it("reports a wrong API key as the simulator's unsigned 签名错误", async () => {
    const gateway = await gatewayFor({ ...TEST_MERCHANT, apiKey: 'W'.repeat(32) }, 'MD5');
    const err = await rejection(gateway.unifiedOrder(order()));
    expect(err).toBeInstanceOf(WechatPayReturnError);
    expect(err).toMatchObject({ returnMsg: '签名错误' });
  });

  it('reports an answer slower than readTimeoutMs as READ_TIMEOUT', async () => {
    const gateway = await gatewayFor(TEST_MERCHANT, 'HMAC-SHA256', { readTimeoutMs: 100 });
    sim.controls.setFaults({ slowResponseMs: 400, slowPaths: ['/pay/orderquery'] });
    const err = await rejection(gateway.orderQuery({ outTradeNo: newOrderNo('GW') }));
    expect(err).toBeInstanceOf(WechatPayTransportError);
    expect(err).toMatchObject({ failure: 'READ_TIMEOUT' });
  });

  it('reports a wrong app secret as login error 40125', async () => {
    const login = await loginFor({ ...TEST_MERCHANT, appSecret: 'not-the-secret' }, 'MD5');
    const err = await rejection(login.code2Session(sim.controls.login().code));
    expect(err).toBeInstanceOf(WechatPayLoginError);
    expect(err).toMatchObject({ errcode: 40125 });
    expect((err as Error).message).not.toContain('not-the-secret');
  });
});
