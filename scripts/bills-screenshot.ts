import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BillReconcileService } from '../apps/demo/src/bills/bill-reconcile.service';
import { renderBillReport } from '../apps/demo/src/bills/bill-report';
import { billRunView } from '../apps/demo/src/bills/bills.dto';
import { OrderEntity } from '../apps/demo/src/orders/order.entity';
import { DESKTOP, launchChromium } from '../test/browser/browser';
import { billReadyFor, nextTradingDay } from '../test/demo/bill-support';
import { DemoHarness, type Shopper } from '../test/demo/harness';

/**
 * Regenerates docs/bills.png: two Beijing days of one shop, reconciled with WeChat's bills, and the
 * simulator's dashboard listing those bills. The first day is clean; on the second a payment's
 * notifications were all lost (the run settles it) and one order was marked paid in the shop's
 * database although WeChat never took the money (the run flags it). Prints the CLI's report of
 * each day. The demo shop and the simulator run in this process on a fresh SQLite file, with
 * Debian's Chromium. A maintainer runs it by hand after changing the dashboard (CI does not):
 *
 *   npx ts-node -r tsconfig-paths/register --transpile-only scripts/bills-screenshot.ts
 */
async function main(): Promise<void> {
  const docs = join(__dirname, '..', 'docs');
  await mkdir(docs, { recursive: true });
  const harness = await DemoHarness.start();
  const browser = await launchChromium();
  try {
    const shopper = await harness.login('bill-screenshot-user');
    const clean = nextTradingDay(harness);
    await paid(harness, shopper, 1);
    await paid(harness, shopper, 2);

    const troubled = nextTradingDay(harness);
    await paid(harness, shopper, 3);
    // Every notification of this payment is lost until the runs are over; the reconciler is off.
    harness.simulator.controls.setFaults({ dropNotificationRate: 1 });
    const unheard = await harness.placeOrder(shopper, [{ productId: 1, quantity: 1 }]);
    harness.payAtWechat(shopper, unheard.payParams);
    const forged = await harness.placeOrder(shopper, [{ productId: 2, quantity: 1 }]);
    await harness.dataSource.getRepository(OrderEntity).update(
      { orderNo: forged.orderNo },
      {
        status: 'PAID',
        paidAt: harness.clock.now(),
        paidVia: 'notify',
        transactionId: `4200009999${troubled}${String(Date.now()).slice(-10)}`,
      },
    );

    billReadyFor(harness, troubled);
    const bills = harness.get(BillReconcileService);
    for (const date of [clean, troubled]) {
      console.log(`$ npm run bill:reconcile -- --date ${date}`);
      console.log(renderBillReport(billRunView(await bills.reconcile(date, 'cli'))));
      console.log('');
    }
    harness.simulator.controls.resetFaults();

    const desktop = await browser.newContext({ viewport: { ...DESKTOP, height: 760 } });
    const dashboard = await desktop.newPage();
    await dashboard.goto(`${harness.simulator.baseUrl}/__simulator/`);
    await dashboard.waitForSelector(`#bills tr[data-bill-date="${troubled}"]`);
    await dashboard.locator('#bills').screenshot({ path: join(docs, 'bills.png') });
    console.log(`wrote ${join(docs, 'bills.png')}`);
  } finally {
    await browser.close();
    await harness.close();
  }
}

/** An order paid at WeChat and settled by its notification. */
async function paid(harness: DemoHarness, shopper: Shopper, productId: number): Promise<void> {
  const checkout = await harness.placeOrder(shopper, [{ productId, quantity: 1 }]);
  const answer = harness.payAtWechat(shopper, checkout.payParams);
  if (answer.errMsg !== 'requestPayment:ok') throw new Error(answer.errMsg);
  await harness.waitForStatus(checkout.orderNo, 'PAID');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
