import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Injectable, Logger } from '@nestjs/common';
import {
  WechatPayBusinessError,
  WechatPayError,
  WechatPayGateway,
  WechatPayProtocolError,
  WechatPayReturnError,
  type OrderQueryResult,
} from 'nestjs-wechat-pay-v2';
import { DataSource, In } from 'typeorm';
import { Clock } from '../clock';
import { Statement } from '../database/statement';
import { Transactions } from '../database/transactions';
import { OrderEntity } from '../orders/order.entity';
import { OrderSyncService } from '../payments/order-sync.service';
import { RefundEntity } from '../refunds/refund.entity';
import {
  billLine,
  comparePayment,
  compareRefund,
  emptyTotals,
  findingSubject,
  isPaidHere,
  PAID_HERE_STATUSES,
  settledFinding,
  unbilledPaymentFinding,
  unbilledRefundFinding,
  type BillLine,
  type Finding,
  type SideTotals,
} from './bill-comparison';
import { beijingDay } from './bill-date';
import { BillDiscrepancyEntity } from './bill-discrepancy.entity';
import {
  BillRunEntity,
  type BillAnswerKind,
  type BillRunStatus,
  type BillRunTrigger,
} from './bill-run.entity';

/**
 * How long a claimed run is its instance's alone. The run renews it as it goes (after each batch
 * and each WeChat call, at most every RENEW_EVERY_MS), so only a run that stopped renewing (its
 * instance crashed, or a single call hung for longer than this) loses it.
 */
export const BILL_LEASE_MS = 5 * 60_000;
const RENEW_EVERY_MS = 30_000;
/** Bill rows compared per database round trip. */
const BATCH = 500;

/** Another instance holds the date's run right now. */
export class BillRunBusyError extends Error {
  constructor(
    readonly billDate: string,
    message = `the bill of ${billDate} is being reconciled by another instance right now`,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** WeChat has not made the day's bill yet (`Bill Creating`): try again later. */
export class BillNotReadyError extends Error {
  constructor(
    readonly billDate: string,
    readonly returnMsg: string,
  ) {
    super(`WeChat has no bill for ${billDate} yet (${returnMsg}); try again later`);
    this.name = 'BillNotReadyError';
  }
}

/** The run stalled past BILL_LEASE_MS and another instance took the date over. */
class LeaseLostError extends BillRunBusyError {
  constructor(billDate: string) {
    super(billDate, `the run of ${billDate} stalled and another instance took it over`);
  }
}

/** A run and the discrepancies stored for its date. */
export interface BillRunReport {
  run: BillRunEntity;
  /** Every finding of the date; `open` are those the run's own attempt found. */
  discrepancies: Array<BillDiscrepancyEntity & { open: boolean }>;
}

const CLAIM_NEW = new Statement(
  'INSERT INTO bill_runs (bill_date, status, attempt, run_by, lease_owner, lease_until, started_at) ' +
    "VALUES ($1, 'RUNNING', 1, $2, $3, $4, $5) ON CONFLICT (bill_date) DO NOTHING",
);
/** Takes over a date whose run is over, or whose instance stopped renewing its lease. */
const CLAIM_AGAIN = new Statement(
  "UPDATE bill_runs SET status = 'RUNNING', attempt = attempt + 1, run_by = $2, lease_owner = $3, " +
    'lease_until = $4, started_at = $5, finished_at = NULL, duration_ms = NULL, last_error = NULL, ' +
    'bill = NULL WHERE bill_date = $1 AND ' +
    "(status <> 'RUNNING' OR lease_until IS NULL OR lease_until < $5)",
);
const ATTEMPT_OF = new Statement(
  'SELECT attempt FROM bill_runs WHERE bill_date = $1 AND lease_owner = $2',
);
const RENEW = new Statement(
  'UPDATE bill_runs SET lease_until = $3 ' +
    "WHERE bill_date = $1 AND lease_owner = $2 AND status = 'RUNNING'",
);
const FINISH = new Statement(
  'UPDATE bill_runs SET status = $3, bill = $4, wechat_payments = $5, wechat_payments_fen = $6, ' +
    'wechat_refunds = $7, wechat_refunds_fen = $8, our_payments = $9, our_payments_fen = $10, ' +
    'our_refunds = $11, our_refunds_fen = $12, discrepancy_count = $13, repaired_count = $14, ' +
    'last_error = $15, finished_at = $16, duration_ms = $17, lease_owner = NULL, lease_until = NULL ' +
    "WHERE bill_date = $1 AND lease_owner = $2 AND status = 'RUNNING'",
);
const COUNT_FOUND = new Statement(
  'SELECT COUNT(*) AS found, COALESCE(SUM(repaired), 0) AS repaired FROM bill_discrepancies ' +
    'WHERE bill_date = $1 AND seen_attempt = $2',
);
/**
 * One row per date, kind and subject: a finding seen again gets the new attempt and values, and
 * keeps `repaired` once set (the repair happened, whatever a later run sees).
 */
const RECORD_FINDING = new Statement(
  'INSERT INTO bill_discrepancies (bill_date, kind, subject, order_no, refund_no, transaction_id, ' +
    'wechat_fen, our_fen, detail, repaired, seen_attempt, first_seen_at, last_seen_at) ' +
    'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) ' +
    'ON CONFLICT (bill_date, kind, subject) DO UPDATE SET transaction_id = excluded.transaction_id, ' +
    'wechat_fen = excluded.wechat_fen, our_fen = excluded.our_fen, detail = excluded.detail, ' +
    'repaired = CASE WHEN bill_discrepancies.repaired = 1 THEN 1 ELSE excluded.repaired END, ' +
    'seen_attempt = excluded.seen_attempt, last_seen_at = excluded.last_seen_at',
);

/** One run's working state. */
class RunState {
  readonly wechat: SideTotals = emptyTotals();
  readonly ours: SideTotals = emptyTotals();
  /** Ids of the orders and refunds the bill named: the rest of the day's are looked at after. */
  readonly billedOrders = new Set<number>();
  readonly billedRefunds = new Set<number>();
  rows = 0;
  renewedAt: number;

  constructor(
    readonly billDate: string,
    readonly owner: string,
    readonly attempt: number,
    readonly startedAt: number,
  ) {
    this.renewedAt = startedAt;
  }
}

/**
 * Reconciles a day's WeChat bill (ALL: payments and refunds) with the orders and refunds tables.
 *
 * One instance runs a date at a time, decided in the database: a run claims the date's bill_runs
 * row by inserting it, or, when it exists, by a conditional update that succeeds only if no run
 * holds a live lease on it. The bill is streamed and compared 500 rows at a time, so memory holds
 * a batch and the ids of the orders and refunds it named, never the bill. Each problem is one
 * bill_discrepancies row (an upsert), so a re-run, or the run after a crash halfway, finds the
 * same rows and adds none; a payment WeChat has and the shop missed is settled on the way through
 * the exactly-once path (orderquery via OrderSyncService).
 */
@Injectable()
export class BillReconcileService {
  private readonly logger = new Logger(BillReconcileService.name);

  constructor(
    private readonly gateway: WechatPayGateway,
    private readonly sync: OrderSyncService,
    private readonly transactions: Transactions,
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  /**
   * Runs the reconciliation of `date` (yyyyMMdd, checked by the caller) now. Rejects with
   * BillRunBusyError when another instance holds it, BillNotReadyError when WeChat has no bill
   * yet, and with the error itself (a WechatPayError, say) when the run fails; the run is then
   * stored as NOT_READY or FAILED and can be run again.
   */
  async reconcile(date: string, runBy: BillRunTrigger): Promise<BillRunReport> {
    const owner = `${hostname()}:${process.pid}:${randomUUID()}`.slice(0, 96);
    const startedAt = this.clock.now();
    const attempt = await this.claim(date, owner, runBy, startedAt);
    const run = new RunState(date, owner, attempt, startedAt);
    let bill: BillAnswerKind;
    try {
      bill = await this.compare(run);
    } catch (error) {
      const notReady = this.notReady(date, error);
      await this.finish(run, notReady ? 'NOT_READY' : 'FAILED', null, describe(error)).catch(
        (finishError: unknown) =>
          this.logger.error(`bill run ${date}: could not store its end: ${describe(finishError)}`),
      );
      throw notReady ?? error;
    }
    await this.finish(run, 'DONE', bill, null);
    const report = await this.report(date);
    const found = report?.run.discrepancyCount ?? 0;
    this.logger.log(
      `bill ${date}: ${run.rows} rows, ${found} discrepancies (${report?.run.repairedCount ?? 0} repaired) in ${this.clock.now() - startedAt} ms`,
    );
    return report as BillRunReport;
  }

  /** The date's run and its discrepancies; undefined when it never ran. */
  async report(date: string): Promise<BillRunReport | undefined> {
    const run = await this.dataSource.getRepository(BillRunEntity).findOneBy({ billDate: date });
    if (!run) return undefined;
    const rows = await this.dataSource
      .getRepository(BillDiscrepancyEntity)
      .find({ where: { billDate: date }, order: { id: 'ASC' } });
    return {
      run,
      discrepancies: rows.map((row) =>
        Object.assign(row, { open: row.seenAttempt === run.attempt }),
      ),
    };
  }

  private async claim(
    date: string,
    owner: string,
    runBy: BillRunTrigger,
    now: number,
  ): Promise<number> {
    const params = [date, runBy, owner, now + BILL_LEASE_MS, now];
    const inserted = await this.transactions.write(CLAIM_NEW, params);
    if (inserted.affected !== 1) {
      const updated = await this.transactions.write(CLAIM_AGAIN, params);
      if (updated.affected !== 1) throw new BillRunBusyError(date);
    }
    const [row] = await this.transactions.read<{ attempt: unknown }>(ATTEMPT_OF, [date, owner]);
    if (!row) throw new BillRunBusyError(date);
    return Number(row.attempt);
  }

  /** Keeps the lease while the run makes progress; a run that lost it stops at once. */
  private async renew(run: RunState): Promise<void> {
    const now = this.clock.now();
    if (now - run.renewedAt < RENEW_EVERY_MS) return;
    const result = await this.transactions.write(RENEW, [
      run.billDate,
      run.owner,
      now + BILL_LEASE_MS,
    ]);
    if (result.affected !== 1) throw new LeaseLostError(run.billDate);
    run.renewedAt = now;
  }

  private async finish(
    run: RunState,
    status: BillRunStatus,
    bill: BillAnswerKind | null,
    lastError: string | null,
  ): Promise<void> {
    const [counted] = await this.transactions.read<{ found: unknown; repaired: unknown }>(
      COUNT_FOUND,
      [run.billDate, run.attempt],
    );
    const now = this.clock.now();
    const { wechat, ours } = run;
    const result = await this.transactions.write(FINISH, [
      run.billDate,
      run.owner,
      status,
      bill,
      wechat.payments,
      wechat.paymentsFen,
      wechat.refunds,
      wechat.refundsFen,
      ours.payments,
      ours.paymentsFen,
      ours.refunds,
      ours.refundsFen,
      Number(counted?.found ?? 0),
      Number(counted?.repaired ?? 0),
      lastError === null ? null : lastError.slice(0, 255),
      now,
      now - run.startedAt,
    ]);
    if (result.affected !== 1) throw new LeaseLostError(run.billDate);
  }

  /** `Bill Creating` (and WeChat's other "not yet" answer texts) as BillNotReadyError. */
  private notReady(date: string, error: unknown): BillNotReadyError | undefined {
    if (error instanceof BillNotReadyError) return error;
    if (error instanceof WechatPayReturnError && /^bill creating$/i.test(error.returnMsg.trim())) {
      return new BillNotReadyError(date, error.returnMsg);
    }
    return undefined;
  }

  private async compare(run: RunState): Promise<BillAnswerKind> {
    const bill = await this.gateway.downloadBillStream({ billDate: run.billDate, billType: 'ALL' });
    // `No Bill Exist`: WeChat had no trades that day. The run goes on with an empty bill, so any
    // payment or refund recorded here that day is reported as absent at WeChat, and a day
    // without trades on either side is clean.
    if (bill.found) {
      let batch: BillLine[] = [];
      for await (const row of bill.rows) {
        batch.push(billLine(row));
        run.rows += 1;
        if (batch.length === BATCH) {
          await this.compareBatch(run, batch);
          batch = [];
        }
      }
      await this.compareBatch(run, batch);
      const summary = bill.rows.summary;
      if (summary && summary.totalCount !== run.rows) {
        throw new WechatPayProtocolError(
          `the bill's summary counts ${summary.totalCount} trades but it has ${run.rows} rows`,
          '',
        );
      }
    }
    await this.unbilledPayments(run);
    await this.unbilledRefunds(run);
    return bill.found ? 'FOUND' : 'NO_BILL';
  }

  private async compareBatch(run: RunState, lines: BillLine[]): Promise<void> {
    if (lines.length === 0) return;
    const payments = lines.filter((l): l is Extract<BillLine, { type: 'payment' }> => {
      return l.type === 'payment';
    });
    const refunds = lines.filter((l): l is Extract<BillLine, { type: 'refund' }> => {
      return l.type === 'refund';
    });
    const orders = await this.ordersByNo(payments.map((p) => p.orderNo));
    for (const line of payments) {
      if (line.tradeState === 'SUCCESS') {
        run.wechat.payments += 1;
        run.wechat.paymentsFen += line.amountFen;
      }
      const order = orders.get(line.orderNo);
      const verdict = comparePayment(line, order);
      if (order) run.billedOrders.add(order.id);
      if ('settle' in verdict) {
        await this.record(run, await this.settle(line, order as OrderEntity));
        await this.renew(run);
        continue;
      }
      if (order && isPaidHere(order) && line.tradeState === 'SUCCESS') {
        run.ours.payments += 1;
        run.ours.paymentsFen += order.amountFen;
      }
      if (verdict.finding) await this.record(run, verdict.finding);
    }
    const ours = await this.refundsByNo(refunds.map((r) => r.refundNo));
    for (const line of refunds) {
      if (line.status === 'SUCCESS') {
        run.wechat.refunds += 1;
        run.wechat.refundsFen += line.amountFen;
      }
      const refund = ours.get(line.refundNo);
      if (refund) {
        run.billedRefunds.add(refund.id);
        if (refund.status === 'SUCCESS') {
          run.ours.refunds += 1;
          run.ours.refundsFen += refund.amountFen;
        }
      }
      const finding = compareRefund(line, refund);
      if (finding) await this.record(run, finding);
    }
    await this.renew(run);
  }

  /**
   * A payment the bill has and the shop has not recorded: orderquery, applied through the
   * exactly-once path, so the order is paid and fulfilled once however this races with a late
   * notification or the reconciler. It was not recorded here when compared, so it does not count
   * on our side of this run.
   */
  private async settle(
    line: Extract<BillLine, { type: 'payment' }>,
    order: OrderEntity,
  ): Promise<Finding> {
    try {
      const outcome = await this.sync.sync(order, 'bill');
      return settledFinding(line, order, { settled: outcome });
    } catch (error) {
      if (!(error instanceof WechatPayError)) throw error;
      return settledFinding(line, order, { error: describe(error) });
    }
  }

  /** Orders recorded paid here on the day that the bill did not name. */
  private async unbilledPayments(run: RunState): Promise<void> {
    const { from, to } = beijingDay(run.billDate);
    const repo = this.dataSource.getRepository(OrderEntity);
    let after = 0;
    for (;;) {
      const page = await repo
        .createQueryBuilder('o')
        .where('o.id > :after', { after })
        .andWhere('o.paid_at >= :from AND o.paid_at < :to', { from, to })
        .andWhere('o.status IN (:...paid)', { paid: PAID_HERE_STATUSES })
        .orderBy('o.id', 'ASC')
        .limit(BATCH)
        .getMany();
      if (page.length === 0) return;
      after = page[page.length - 1].id;
      for (const order of page) {
        if (run.billedOrders.has(order.id)) continue;
        const finding = unbilledPaymentFinding(order, run.billDate, await this.orderQuery(order));
        await this.renew(run);
        if (!finding) continue;
        run.ours.payments += 1;
        run.ours.paymentsFen += order.amountFen;
        await this.record(run, finding);
      }
      await this.renew(run);
    }
  }

  /** Refunds recorded successful here on the day that the bill did not name. */
  private async unbilledRefunds(run: RunState): Promise<void> {
    const { from, to } = beijingDay(run.billDate);
    const repo = this.dataSource.getRepository(RefundEntity);
    let after = 0;
    for (;;) {
      const page = await repo
        .createQueryBuilder('r')
        .where('r.id > :after', { after })
        .andWhere('r.success_at >= :from AND r.success_at < :to', { from, to })
        .andWhere(`r.status = 'SUCCESS'`)
        .orderBy('r.id', 'ASC')
        .limit(BATCH)
        .getMany();
      if (page.length === 0) return;
      after = page[page.length - 1].id;
      for (const refund of page) {
        if (run.billedRefunds.has(refund.id)) continue;
        const answer = await this.gateway.refundQuery({ outRefundNo: refund.refundNo });
        const finding = unbilledRefundFinding(refund, run.billDate, answer);
        await this.renew(run);
        if (!finding) continue;
        run.ours.refunds += 1;
        run.ours.refundsFen += refund.amountFen;
        await this.record(run, finding);
      }
      await this.renew(run);
    }
  }

  private async orderQuery(order: OrderEntity): Promise<OrderQueryResult | { notFound: true }> {
    try {
      return await this.gateway.orderQuery({ outTradeNo: order.orderNo });
    } catch (error) {
      if (error instanceof WechatPayBusinessError && error.errCode === 'ORDERNOTEXIST') {
        return { notFound: true };
      }
      throw error;
    }
  }

  private async ordersByNo(orderNos: string[]): Promise<Map<string, OrderEntity>> {
    if (orderNos.length === 0) return new Map();
    const rows = await this.dataSource
      .getRepository(OrderEntity)
      .findBy({ orderNo: In([...new Set(orderNos)]) });
    return new Map(rows.map((row) => [row.orderNo, row]));
  }

  private async refundsByNo(refundNos: string[]): Promise<Map<string, RefundEntity>> {
    const wanted = [...new Set(refundNos.filter((no) => no !== ''))];
    if (wanted.length === 0) return new Map();
    const rows = await this.dataSource.getRepository(RefundEntity).findBy({ refundNo: In(wanted) });
    return new Map(rows.map((row) => [row.refundNo, row]));
  }

  private async record(run: RunState, finding: Finding): Promise<void> {
    await this.transactions.write(RECORD_FINDING, [
      run.billDate,
      finding.kind,
      findingSubject(finding),
      finding.orderNo,
      finding.refundNo,
      finding.transactionId,
      finding.wechatFen,
      finding.ourFen,
      finding.detail.slice(0, 255),
      finding.repaired ? 1 : 0,
      run.attempt,
      this.clock.now(),
    ]);
  }
}

function describe(error: unknown): string {
  if (error instanceof WechatPayError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
