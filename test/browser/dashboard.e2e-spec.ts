import type { Page } from 'playwright-core';
import { eventually, type DemoHarness } from '../demo/harness';
import { DESKTOP, PHONE, screenshot, describeInChromium } from './browser';

jest.setTimeout(30_000);

/** The dashboard reloads every 2 s; allow a few rounds on a busy machine. */
const REFRESH_WAIT_MS = 10_000;

describeInChromium('the simulator dashboard, in Chromium', DESKTOP, (suite) => {
  let harness: DemoHarness;
  let page: Page;

  beforeEach(() => {
    ({ harness, page } = suite);
  });

  const dashboardUrl = () => `${harness.simulator.baseUrl}/__simulator/`;
  const rowText = (table: 'orders' | 'notifications', orderNo: string) =>
    page.locator(`#${table} tr[data-out-trade-no="${orderNo}"]`).allTextContents();

  /** Resolves once the page, refreshing itself, shows the order paid and its notification delivered. */
  const waitForPaidAndDelivered = (orderNo: string) =>
    eventually(
      async () => {
        const order = (await rowText('orders', orderNo)).join(' ');
        const sends = (await rowText('notifications', orderNo)).join(' ');
        return (
          order.includes('SUCCESS') && order.includes('delivered') && sends.includes('delivered')
        );
      },
      `the dashboard to show ${orderNo} paid and notified`,
      REFRESH_WAIT_MS,
      100,
    );

  it('updates by itself to show an order paid at the cashier and its delivered notification', async () => {
    const shopper = await harness.login();
    const checkout = await harness.placeOrder(shopper, [{ productId: 1, quantity: 1 }]);

    await page.goto(dashboardUrl());
    const before = (await rowText('orders', checkout.orderNo)).join(' ');
    expect(before).toContain('NOTPAY');
    expect(before).toContain('¥68.00');

    const phone = await page.context().browser()!.newContext({ viewport: PHONE });
    try {
      const cashier = await phone.newPage();
      await cashier.goto(
        `${harness.simulator.baseUrl}/__simulator/cashier?${new URLSearchParams({
          prepay_id: checkout.payParams.package.replace(/^prepay_id=/, ''),
          openid: shopper.openid,
        })}`,
      );
      await cashier.click('#pay');
      await cashier.waitForSelector('#result.ok');
    } finally {
      await phone.close();
    }

    await waitForPaidAndDelivered(checkout.orderNo);
    const sends = (await rowText('notifications', checkout.orderNo)).join(' ');
    expect(sends).toContain('200');
    expect(sends).toContain('SUCCESS');
    await screenshot(page, 'dashboard-paid');
    await harness.waitForStatus(checkout.orderNo, 'PAID');
  });

  it('switches a fault on from its form, and the next notification send is dropped then retried', async () => {
    await page.goto(dashboardUrl());
    await page.fill('#fault-dropNotifications', '1');
    await page.click('#faults button[type=submit]');
    await page.waitForSelector('#faults-status.ok');
    expect(harness.simulator.controls.faults().dropNotifications).toBe(1);
    expect(await page.textContent('#live')).toContain('dropNotifications=1');

    const shopper = await harness.login();
    const checkout = await harness.placeOrder(shopper, [{ productId: 5, quantity: 1 }]);
    expect(harness.payAtWechat(shopper, checkout.payParams).errMsg).toBe('requestPayment:ok');
    await harness.waitForDelivery(checkout.orderNo);

    await waitForPaidAndDelivered(checkout.orderNo);
    const sends = await rowText('notifications', checkout.orderNo);
    expect(sends).toHaveLength(2);
    expect(sends[1]).toContain('dropped');
    expect(sends[0]).toContain('delivered');
    await screenshot(page, 'dashboard-fault');

    await page.click('#reset');
    await page.waitForSelector('#faults-status.ok:text-is("All faults off.")');
    expect(harness.simulator.controls.faults().dropNotifications).toBe(0);
    expect(await page.inputValue('#fault-dropNotifications')).toBe('0');
  });

  it('shows an error from the simulator when a fault value is out of range', async () => {
    await page.goto(dashboardUrl());
    await page.fill('#fault-dropNotificationRate', '2');
    await page.click('#faults button[type=submit]');
    await page.waitForSelector('#faults-status.bad');
    expect(await page.textContent('#faults-status')).toContain(
      'dropNotificationRate must be a number from 0 to 1',
    );
    expect(harness.simulator.controls.faults().dropNotificationRate).toBe(0);
  });
});
