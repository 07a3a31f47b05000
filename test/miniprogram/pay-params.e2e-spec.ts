import { startSimulator, type RunningSimulator } from 'wechat-pay-v2-simulator';
import { freePort } from '../demo/harness';
import { MiniProgram } from './harness';

/**
 * The order page on its own, with a checkout answer the test writes: no shop behind it, so what
 * reaches wx.requestPayment can only be what the page made of that answer.
 */
describe('the order page handing pay parameters to wx.requestPayment', () => {
  let simulator: RunningSimulator;
  let mp: MiniProgram | undefined;

  beforeAll(async () => {
    simulator = await startSimulator({ timeScale: 0.001 });
  });

  afterAll(() => simulator?.stop());

  afterEach(() => {
    mp?.close();
    mp = undefined;
  });

  it('passes the five fields unchanged, timeStamp still a string, and nothing else the answer carries', async () => {
    mp = MiniProgram.launch({
      apiBaseUrl: `http://127.0.0.1:${await freePort()}`,
      simulatorUrl: simulator.baseUrl,
    });
    const payParams = {
      timeStamp: '0001700000',
      nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
      package: 'prepay_id=wx201410272009395522657a690389285100',
      signType: 'MD5',
      paySign: 'C380BEC2BFD727A4B6845133519F3AD6',
    };
    mp.app.globalData.checkout = {
      orderNo: 'ORDER_0001',
      amount: 1990,
      status: 'UNPAID',
      description: '手冲滤纸 100 张',
      items: [
        {
          productId: 2,
          name: '手冲滤纸 100 张',
          unitPriceFen: 1990,
          quantity: 1,
          lineTotalFen: 1990,
        },
      ],
      // Fields some SDKs add next to the five (a lower-case timestamp, the appId): not for requestPayment.
      payParams: { ...payParams, timestamp: 1700000000, appId: 'wx2421b1c4370ec43b' },
    };

    mp.navigateTo('/pages/order/order?orderNo=ORDER_0001');
    const page = await mp.waitForPage('pages/order/order');
    await mp.waitFor(() => page.data.paying === false, 'the payment sheet to answer');

    expect(mp.payments).toHaveLength(1);
    expect(mp.payments[0].params).toStrictEqual(payParams);
    // The simulator stands in for the WeChat client: it knows no such prepay_id.
    expect(mp.payments[0].errMsg).toBe('requestPayment:fail prepay_id无效');
    expect(page.data.message).toBe('支付未成功（prepay_id无效），可以再次支付');
    expect(page.data.order).toMatchObject({
      orderNo: 'ORDER_0001',
      amountLines: [{ key: 'total', label: '合计', amountText: '¥19.90' }],
    });
    expect(mp.errors).toEqual([]);
  });
});
