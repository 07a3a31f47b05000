import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { WechatPayError } from 'nestjs-wechat-pay-v2';
import { TEST_MERCHANT } from 'wechat-pay-v2-simulator';
import { AppModule } from '../app.module';
import { DemoConfigError, loadDemoConfig, type DemoConfig } from '../config/demo.config';
import { isBillDate, previousBeijingDate } from './bill-date';
import {
  BillNotReadyError,
  BillReconcileService,
  BillRunBusyError,
} from './bill-reconcile.service';
import { renderBillReport } from './bill-report';
import { billRunView } from './bills.dto';

/**
 * `npm run bill:reconcile -- --date yyyyMMdd`: reconciles one day's bill against DATABASE_URL and
 * the configured WeChat host, in a Nest application context (no HTTP listener, no timers), prints
 * a summary and exits with:
 */
export const EXIT = {
  /** The day is clean. */
  CLEAN: 0,
  /** The run found discrepancies, repaired ones included. */
  DISCREPANCIES: 1,
  /** WeChat answered that the bill is not available yet (`Bill Creating`). */
  NOT_READY: 2,
  /** The run failed: WeChat or the database unreachable, a WeChat error, a bad configuration. */
  FAILED: 3,
  /** Another instance is running that date right now. */
  BUSY: 4,
  /** Bad arguments. */
  USAGE: 64,
} as const;

const USAGE = `usage: npm run bill:reconcile -- [--date yyyyMMdd]

Reconciles WeChat's ALL bill of one Beijing day with the orders and refunds in DATABASE_URL.
--date defaults to yesterday (Beijing time). Exit status: 0 clean, 1 discrepancies found,
2 the bill is not available yet, 3 the run failed, 4 another instance is running that date.
`;

export function parseArgs(argv: readonly string[]): { date?: string } | { error: string } {
  let date: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return { error: '' };
    const inline = /^--date=(.*)$/.exec(arg);
    if (inline) date = inline[1];
    else if (arg === '--date') {
      if (i + 1 >= argv.length) return { error: '--date needs a value, yyyyMMdd' };
      date = argv[++i];
    } else return { error: `unknown argument ${JSON.stringify(arg)}` };
  }
  if (date !== undefined && !isBillDate(date)) {
    return {
      error: `--date must be a calendar date written yyyyMMdd, got ${JSON.stringify(date)}`,
    };
  }
  return date === undefined ? {} : { date };
}

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
        `bill:reconcile failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(EXIT.FAILED);
    },
  );
}
