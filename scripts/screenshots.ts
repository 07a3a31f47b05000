import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DemoHarness } from '../test/demo/harness';
import { DESKTOP, launchChromium, PHONE } from '../test/browser/browser';

/**
 * Regenerates docs/cashier.png and docs/dashboard.png from a real run: the demo shop and the
 * simulator in this process, a fresh SQLite file, Debian's Chromium. A maintainer runs it by hand
 * after changing a page (CI does not):
 *
 *   npx ts-node -r tsconfig-paths/register --transpile-only scripts/screenshots.ts
 *
 * Chinese product names need a CJK font on the machine (apt-get install fonts-wqy-zenhei).
 */
async function main(): Promise<void> {
  const docs = join(__dirname, '..', 'docs');
  await mkdir(docs, { recursive: true });
  const harness = await DemoHarness.start();
  const browser = await launchChromium();
  try {
    const shopper = await harness.login('screenshot-user');
    const earlier = await harness.placeOrder(shopper, [{ productId: 3, quantity: 1 }]);
    harness.payAtWechat(shopper, earlier.payParams);
    const checkout = await harness.placeOrder(shopper, [
      { productId: 1, quantity: 1 },
      { productId: 2, quantity: 2 },
    ]);
    await harness.placeOrder(shopper, [{ productId: 5, quantity: 1 }]);
    const prepayId = checkout.payParams.package.replace(/^prepay_id=/, '');

    const phone = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2 });
    const cashier = await phone.newPage();
    await cashier.goto(
      `${harness.simulator.baseUrl}/__simulator/cashier?${new URLSearchParams({
        prepay_id: prepayId,
        openid: shopper.openid,
      })}`,
    );
    await cashier.screenshot({ path: join(docs, 'cashier.png') });
    await cashier.click('#pay');
    await cashier.waitForSelector('#result.ok');
    await harness.waitForDelivery(checkout.orderNo);
    await harness.waitForDelivery(earlier.orderNo);

    const desktop = await browser.newContext({ viewport: { ...DESKTOP, height: 760 } });
    const dashboard = await desktop.newPage();
    await dashboard.goto(`${harness.simulator.baseUrl}/__simulator/`);
    await dashboard.screenshot({ path: join(docs, 'dashboard.png') });
    console.log(`wrote ${join(docs, 'cashier.png')} and ${join(docs, 'dashboard.png')}`);
  } finally {
    await browser.close();
    await harness.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
