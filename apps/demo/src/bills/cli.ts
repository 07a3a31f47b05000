import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { WechatPayError } from 'nestjs-wechat-pay-v2';
import { TEST_MERCHANT } from 'wechat-pay-v2-simulator';
import { AppModule } from '../app.module';
import { DemoConfigError, loadDemoConfig, type DemoConfig } from '../config/demo.config';
import { previousBeijingDate } from './bill-date';
import {
  BillNotReadyError,
  BillReconcileService,
  BillRunBusyError,
} from './bill-reconcile.service';
import { renderBillReport } from './bill-report';
import { billRunView } from './bills.dto';
import { EXIT, parseArgs, USAGE } from './cli-args';

/**
 * The bill reconciliation from the command line (see cli-args.ts for the arguments and exit
 * statuses). It uses the demo's configuration as `npm start` does. With the default SIMULATOR=on
 * it starts no simulator of its own, which would know none of the shop's trades: it talks to the
 * one embedded in a running `npm start` (http://127.0.0.1:SIMULATOR_PORT), and says so when
 * nothing answers there. With SIMULATOR=off it talks to WECHAT_PAY_BASE_URL with the WECHAT_*
 * credentials: WeChat itself, or a standalone simulator.
 */

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if ('error' in args) {
    process.stderr.write(`${args.error ? `${args.error}\n\n` : ''}${USAGE}`);
    return args.error ? EXIT.USAGE : EXIT.CLEAN;
  }
  let config: DemoConfig;
  try {
    config = loadDemoConfig(process.env, TEST_MERCHANT, () =>
      randomBytes(32).toString('base64url'),
    );
  } catch (error) {
    if (!(error instanceof DemoConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return EXIT.FAILED;
  }
  const date = args.date ?? previousBeijingDate(Date.now());
  // Only this run: no order reconciler passes, no cron, and no simulator of its own.
  const app = await NestFactory.createApplicationContext(
    AppModule.register({
      ...config,
      reconciler: { ...config.reconciler, enabled: false },
      billReconcile: { ...config.billReconcile, enabled: false },
    }),
    { logger: ['error'], abortOnError: false },
  );
  try {
    const report = await app.get(BillReconcileService).reconcile(date, 'cli');
    process.stdout.write(renderBillReport(billRunView(report)));
    return report.run.discrepancyCount > 0 ? EXIT.DISCREPANCIES : EXIT.CLEAN;
  } catch (error) {
    if (error instanceof BillNotReadyError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.NOT_READY;
    }
    if (error instanceof BillRunBusyError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.BUSY;
    }
    const message = error instanceof Error ? error.message : String(error);
    const where =
      error instanceof WechatPayError && error.code === 'TRANSPORT'
        ? ` (WeChat Pay at ${config.wechat.payBaseUrl}${config.simulator ? ': the simulator embedded in a running `npm start`; or set SIMULATOR=off and WECHAT_*' : ''})`
        : '';
    process.stderr.write(`bill ${date}: the run failed: ${message}${where}\n`);
    return EXIT.FAILED;
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `bill:reconcile could not run: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(EXIT.FAILED);
    },
  );
}
