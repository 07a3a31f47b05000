import type { Page } from 'playwright-core';
import type { CheckoutBody, DemoHarness, Shopper } from '../demo/harness';
import { PHONE, screenshot, describeInChromium } from './browser';

jest.setTimeout(30_000);

/** Filter papers (19.90) and the one-fen test item: a total whose fen digits must survive formatting. */
const BASKET = [
  { productId: 2, quantity: 1 },
  { productId: 5, quantity: 1 },
];

describeInChromium('the simulator cashier, in Chromium on a phone-sized screen', PHONE, (suite) => {
  let harness: DemoHarness;
  let page: Page;

  beforeEach(() => {
    ({ harness, page } = suite);
  });

  const prepayIdOf = (checkout: CheckoutBody) =>
    checkout.payParams.package.replace(/^prepay_id=/, '');
  const openCashier = (prepayId: string, openid: string) =>
    page.goto(
      `${harness.simulator.baseUrl}/__simulator/cashier?${new URLSearchParams({ prepay_id: prepayId, openid })}`,
    );
  const orderStatus = async (shopper: Shopper, orderNo: string) =>
    (await harness.getOrder(shopper, orderNo)).status;

  it('shows the order as WeChat would, pays it on Pay, and the shop sees it paid', async () => {
    const shopper = await harness.login();
    const checkout = await harness.placeOrder(shopper, BASKET);
    expect(checkout.amount).toBe(1991);

    await openCashier(prepayIdOf(checkout), shopper.openid);
    expect(await page.textContent('#amount')).toBe('19.91');
    expect(await page.textContent('#description')).toBe(checkout.description);
    expect(await page.textContent('#pay')).toBe('Pay ¥19.91');

    await page.click('#pay');
    await page.waitForSelector('#result.ok');
    expect(await page.textContent('#result')).toContain('Payment successful');
    expect(await page.textContent('#errmsg')).toContain('requestPayment:ok');
    expect(await page.isVisible('#pay')).toBe(false);
    expect(await page.textContent('#state')).toBe('SUCCESS');
    await screenshot(page, 'cashier-paid');

    expect(harness.wechatOrder(checkout.orderNo).tradeState).toBe('SUCCESS');
    await harness.waitForStatus(checkout.orderNo, 'PAID');
    expect(await orderStatus(shopper, checkout.orderNo)).toBe('PAID');
  });

  it('leaves the order unpaid when the user taps Cancel', async () => {
    const shopper = await harness.login();
    const checkout = await harness.placeOrder(shopper, BASKET);

    await openCashier(prepayIdOf(checkout), shopper.openid);
    await page.click('#cancel');
    await page.waitForSelector('#result.warn');
    expect(await page.textContent('#result')).toContain('Payment cancelled');
    expect(await page.textContent('#errmsg')).toContain('requestPayment:fail cancel');
    expect(await page.isEnabled('#pay')).toBe(true);
    await screenshot(page, 'cashier-cancelled');

    expect(harness.wechatOrder(checkout.orderNo).tradeState).toBe('NOTPAY');
    expect(await orderStatus(shopper, checkout.orderNo)).toBe('UNPAID');
    expect(harness.simulator.controls.notifications(checkout.orderNo)).toEqual([]);
  });

  it('tells another user the order is not theirs and offers no Pay button', async () => {
    const owner = await harness.login();
    const stranger = await harness.login();
    const checkout = await harness.placeOrder(owner, BASKET);

    await openCashier(prepayIdOf(checkout), stranger.openid);
    expect(await page.textContent('#result')).toContain('placed by another WeChat user');
    expect(await page.locator('#pay').count()).toBe(0);
    await screenshot(page, 'cashier-other-user');
    expect(harness.wechatOrder(checkout.orderNo).tradeState).toBe('NOTPAY');
  });

  it('says the order is already paid when the cashier is opened again after paying', async () => {
    const shopper = await harness.login();
    const checkout = await harness.placeOrder(shopper, BASKET);
    expect(harness.payAtWechat(shopper, checkout.payParams).errMsg).toBe('requestPayment:ok');

    await openCashier(prepayIdOf(checkout), shopper.openid);
    expect(await page.textContent('#result')).toContain('already been paid');
    expect(await page.locator('#pay').count()).toBe(0);
    await screenshot(page, 'cashier-already-paid');
  });
});
