import { Test } from '@nestjs/testing';
import { WechatLoginService, WechatPayGateway, WechatPayModule } from 'nestjs-wechat-pay-v2';
import { startSimulator, type RunningSimulator } from 'wechat-pay-v2-simulator';

describe('checkout against the simulator', () => {
  let sim: RunningSimulator;
  let gateway: WechatPayGateway;
  let login: WechatLoginService;
  let close: () => Promise<void>;

  beforeAll(async () => {
    sim = await startSimulator({ timeScale: 0.001, closeOrderMinAgeMs: 0 });
    const { appId, mchId, apiKey, appSecret } = sim.merchant;
    const moduleRef = await Test.createTestingModule({
      imports: [
        WechatPayModule.forRoot({
          appId,
          mchId,
          apiKey,
          appSecret,
          baseUrl: sim.baseUrl,
          apiBaseUrl: sim.baseUrl,
          notifyUrl: 'http://127.0.0.1:3000/wechat-pay/notify',
          notifyController: false,
        }),
      ],
    }).compile();
    gateway = moduleRef.get(WechatPayGateway);
    login = moduleRef.get(WechatLoginService);
    close = () => moduleRef.close();
  });

  afterAll(async () => {
    await close();
    await sim.stop();
  });

  it('sees the order paid after the user pays', async () => {
    const { code } = sim.controls.login({ user: 'alice' });
    const { openid } = await login.code2Session(code);
    const { payParams } = await gateway.createJsapiPayment({
      outTradeNo: 'ORDER_000001',
      body: 'Coffee',
      totalFee: 1200,
      openid,
      spbillCreateIp: '127.0.0.1',
    });
    expect(sim.controls.requestPayment({ ...payParams, openid })).toEqual({
      errMsg: 'requestPayment:ok',
    });
    await expect(gateway.orderQuery({ outTradeNo: 'ORDER_000001' })).resolves.toMatchObject({
      tradeState: 'SUCCESS',
      totalFee: 1200,
    });
  });
});
