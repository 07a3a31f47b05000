import Payment from 'tenpay';
import { parseXml, verify } from 'nestjs-wechat-pay-v2/protocol';
import {
  startSimulator,
  TEST_MERCHANT,
  type CompatLevel,
  type RunningSimulator,
} from 'wechat-pay-v2-simulator';
import {
  PAYER_OPENID,
  SimClient,
  orderFields,
  payParams,
  startMerchantEndpoint,
  type MerchantEndpoint,
} from './simulator-support';

/**
 * What third-party clients make of the simulator's notifications. tenpay verifies a notification
 * with `sign_type || 'MD5'`: real HMAC-SHA256 notifications carry no sign_type, so it refuses
 * them, and only the faithful level lets a test see that before production does.
 */
describe('simulator: notifications as clients see them', () => {
  const tenpay = new Payment({
    appid: TEST_MERCHANT.appId,
    mchid: TEST_MERCHANT.mchId,
    partnerKey: TEST_MERCHANT.apiKey,
  });
  const running: Array<RunningSimulator | MerchantEndpoint> = [];

  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => r.stop()));
  });

  async function notificationBody(
    compat: CompatLevel,
    signType: 'MD5' | 'HMAC-SHA256',
  ): Promise<string> {
    const sim = await startSimulator({ merchants: [TEST_MERCHANT], timeScale: 0.001, compat });
    const endpoint = await startMerchantEndpoint();
    running.push(sim, endpoint);
    const client = new SimClient(sim.baseUrl, TEST_MERCHANT, signType);
    const fields = orderFields({ notify_url: endpoint.url, total_fee: 990 });
    const created = await client.call('/pay/unifiedorder', fields);
    sim.controls.requestPayment({
      ...payParams(TEST_MERCHANT, created.fields.prepay_id, signType),
      openid: PAYER_OPENID,
      ...(compat === 'faithful' && { coupon: { fee: 90 } }),
    });
    await sim.controls.waitForNotifications((all) => all.some((a) => a.outcome === 'delivered'));
    return endpoint.bodies[0];
  }

  it('tenpay refuses a faithful HMAC-SHA256 notification, which carries no sign_type', async () => {
    const body = await notificationBody('faithful', 'HMAC-SHA256');
    await expect(tenpay._parse(body, 'middleware_pay')).rejects.toThrow('sign签名错误');
    // The notification is genuine: verified by its 64-hex length, as this project's library does.
    expect(verify(await parseXml(body), TEST_MERCHANT.apiKey, { fallback: 'MD5' })).toBe(true);
  });

  it('tenpay accepts the same notification under the plain level, which adds sign_type', async () => {
    const body = await notificationBody('plain', 'HMAC-SHA256');
    await expect(tenpay._parse(body, 'middleware_pay')).resolves.toMatchObject({
      sign_type: 'HMAC-SHA256',
      total_fee: '990',
    });
  });

  it('tenpay accepts a faithful MD5 notification with coupon fields, newlines and CDATA integers', async () => {
    const body = await notificationBody('faithful', 'MD5');
    expect(body).toContain('\n<coupon_fee_0><![CDATA[90]]></coupon_fee_0>\n');
    await expect(tenpay._parse(body, 'middleware_pay')).resolves.toMatchObject({
      total_fee: '990',
      cash_fee: '900',
      coupon_fee: '90',
    });
  });
});
