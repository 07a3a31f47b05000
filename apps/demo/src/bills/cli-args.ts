import { isBillDate } from './bill-date';

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

export const USAGE = `usage: npm run bill:reconcile -- [--date yyyyMMdd]

Reconciles WeChat's ALL bill of one Beijing day with the orders and refunds in DATABASE_URL.
--date defaults to yesterday (Beijing time). Exit status: 0 clean, 1 discrepancies found,
2 the bill is not available yet, 3 the run failed, 4 another instance is running that date,
64 bad arguments.
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
