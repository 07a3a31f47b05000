import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { WechatPayError } from 'nestjs-wechat-pay-v2';
import { In } from 'typeorm';
import { Clock } from '../clock';
import { DEMO_CONFIG, type DemoConfig } from '../config/demo.config';
import { Statement } from '../database/statement';
import { Transactions } from '../database/transactions';
import { MetricsService } from '../metrics/metrics.service';
import { CLOSE_RETRY_MS, nextCheckAt } from '../orders/check-schedule';
import { OrderEntity } from '../orders/order.entity';
import { OrderSyncService, type SyncOutcome } from '../payments/order-sync.service';
import type { RefundEntity, RefundStatus } from '../refunds/refund.entity';
import { RefundSyncService } from '../refunds/refund-sync.service';
import { RefundsStore } from '../refunds/refunds.store';
import { LeaseBudget } from './lease-budget';

export type ReconcileOutcome =
  | 'paid'
  | 'closed'
  | 'unpaid'
  | 'review'
  | 'error'
  | 'unchanged'
  /** Not reached before the pass's deadline: it comes due again when its lease ends. */
  | 'deferred';

/**
 * What a pass did with a due refund: the status it left it in; error (WeChat could not be asked,
 * or its answer did not settle anything: the refund keeps its status and is tried again later);
 * deferred (no time left in the pass).
 */
export type RefundReconcileOutcome = RefundStatus | 'error' | 'deferred';

export interface ReconcileSummary {
  claimed: number;
  outcomes: Record<ReconcileOutcome, number>;
  /** Refunds: PENDING ones sent again, PROCESSING ones asked about with refundquery. */
  refunds: { claimed: number; outcomes: Record<RefundReconcileOutcome, number> };
  durationMs: number;
}

/** Releases the lease with the next check time, unless the order changed or another pass took it. */
const RESCHEDULE = new Statement(
  'UPDATE orders SET next_check_at = $1, check_attempts = check_attempts + 1, ' +
    'lease_owner = NULL, lease_until = NULL, last_error = $2, updated_at = $3 ' +
    "WHERE id = $4 AND status = 'UNPAID' AND lease_owner = $5",
);

/** What an orderquery or closeorder answer counts as in a pass. */
const COUNTED_AS: Partial<Record<SyncOutcome, ReconcileOutcome>> = {
  PAID: 'paid',
  PAID_AFTER_CLOSE: 'paid',
  AMOUNT_MISMATCH: 'review',
  MERCHANT_MISMATCH: 'review',
  CLOSED: 'closed',
  DEFERRED: 'deferred',
};

/**
 * Finds unpaid orders whose next check is due and settles them with WeChat: paid ones through the
 * exactly-once path, expired or cancelled ones closed with closeorder. Due refunds are claimed the
 * same way, in the same pass and budget: PENDING ones sent again, PROCESSING ones queried.
 *
 * Several instances can run at once. A pass claims a batch in a short transaction (FOR UPDATE SKIP
 * LOCKED on PostgreSQL) by stamping a lease on the rows and pushing their next check to the lease's
 * end; the lock is gone before any HTTP call, and a crashed instance's orders simply come due again
 * when the lease runs out. The selection reads the partial index on unpaid orders' next check.
 * A pass never outlives its lease, so no other instance claims an order while it is being worked
 * on: see LeaseBudget (per-call timeouts, no renewal).
 */
@Injectable()
export class ReconcilerService {
  private readonly logger = new Logger(ReconcilerService.name);
  private running: Promise<ReconcileSummary> | undefined;

  constructor(
    private readonly sync: OrderSyncService,
    private readonly refundSync: RefundSyncService,
    private readonly refundsStore: RefundsStore,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
  ) {}

  /** One pass. Calls made while a pass is running join that pass instead of starting another. */
  runOnce(): Promise<ReconcileSummary> {
    this.running ??= this.pass()
      .then(
        (summary) => {
          this.metrics.reconcilerPass(summary);
          return summary;
        },
        (error: unknown) => {
          this.metrics.reconcilerPassFailed();
          throw error;
        },
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async pass(): Promise<ReconcileSummary> {
    const started = this.clock.now();
    const owner = `${hostname()}:${process.pid}:${randomUUID()}`;
    const orders = await this.claim(owner, started);
    const refunds = await this.refundsStore.claim(
      owner,
      started,
      started + this.config.reconciler.leaseMs,
      this.config.reconciler.batchSize,
    );
    const budget = new LeaseBudget(
      started,
      this.config.reconciler.leaseMs,
      this.config.wechat.connectTimeoutMs,
      this.config.wechat.readTimeoutMs,
    );
    const outcomes: Record<ReconcileOutcome, number> = {
      paid: 0,
      closed: 0,
      unpaid: 0,
      review: 0,
      error: 0,
      unchanged: 0,
      deferred: 0,
    };
    const refundOutcomes: Record<RefundReconcileOutcome, number> = {
      PENDING: 0,
      PROCESSING: 0,
      SUCCESS: 0,
      CLOSED: 0,
      CHANGE: 0,
      error: 0,
      deferred: 0,
    };
    let next = 0;
    let nextRefund = 0;
    const worker = async () => {
      while (next < orders.length) {
        const order = orders[next++];
        outcomes[await this.reconcile(order, owner, budget)]++;
      }
      while (nextRefund < refunds.length) {
        const refund = refunds[nextRefund++];
        refundOutcomes[await this.reconcileRefund(refund, owner, budget)]++;
      }
    };
    const work = orders.length + refunds.length;
    await Promise.all(
      Array.from({ length: Math.min(this.config.reconciler.concurrency, work) }, worker),
    );
    const summary: ReconcileSummary = {
      claimed: orders.length,
      outcomes,
      refunds: { claimed: refunds.length, outcomes: refundOutcomes },
      durationMs: this.clock.now() - started,
    };
    if (orders.length > 0) {
      this.logger.log(
        `pass: claimed ${orders.length}, paid ${outcomes.paid}, closed ${outcomes.closed}, still unpaid ${outcomes.unpaid}, ` +
          `review ${outcomes.review}, errors ${outcomes.error}, unchanged ${outcomes.unchanged}, ` +
          `deferred ${outcomes.deferred} in ${summary.durationMs} ms`,
      );
    }
    if (refunds.length > 0) {
      const counts = Object.entries(refundOutcomes)
        .filter(([, n]) => n > 0)
        .map(([outcome, n]) => `${outcome} ${n}`)
        .join(', ');
      this.logger.log(`pass: claimed ${refunds.length} refunds, now ${counts}`);
    }
    return summary;
  }

  /**
   * A PENDING refund is sent again with its own number and amounts (WeChat answers a repeat with
   * the refund it already has); a PROCESSING one is asked about with refundquery. Both within the
   * pass's budget; a refund not reached keeps its lease and comes due again when it ends.
   */
  private async reconcileRefund(
    refund: RefundEntity,
    owner: string,
    budget: LeaseBudget,
  ): Promise<RefundReconcileOutcome> {
    const readTimeoutMs = budget.readTimeoutAt(this.clock.now());
    if (readTimeoutMs === undefined) return 'deferred';
    const standing =
      refund.status === 'PENDING'
        ? await this.refundSync.send(refund, owner, { readTimeoutMs })
        : await this.refundSync.check(refund, owner, { readTimeoutMs });
    return standing.error !== undefined && standing.status === refund.status
      ? 'error'
      : standing.status;
  }

  private claim(owner: string, now: number): Promise<OrderEntity[]> {
    const leaseUntil = now + this.config.reconciler.leaseMs;
    return this.transactions.run(async (manager) => {
      const repo = manager.getRepository(OrderEntity);
      // The literal 'UNPAID' (not a parameter) lets the planner match the partial index's predicate.
      const due = repo
        .createQueryBuilder('o')
        .select('o.id', 'id')
        .where(`o.status = 'UNPAID'`)
        .andWhere('o.next_check_at <= :now', { now })
        .orderBy('o.next_check_at', 'ASC')
        .limit(this.config.reconciler.batchSize);
      if (this.transactions.isPostgres) due.setLock('pessimistic_write').setOnLocked('skip_locked');
      const ids = (await due.getRawMany<{ id: number }>()).map((row) => Number(row.id));
      if (ids.length === 0) return [];
      await repo.update(
        { id: In(ids), status: 'UNPAID' },
        { leaseOwner: owner, leaseUntil, nextCheckAt: leaseUntil },
      );
      return repo.findBy({ id: In(ids), leaseOwner: owner });
    });
  }

  /** orderquery within the pass's budget, its answer applied through the exactly-once paths. */
  private async reconcile(
    order: OrderEntity,
    owner: string,
    budget: LeaseBudget,
  ): Promise<ReconcileOutcome> {
    const now = this.clock.now();
    const readTimeoutMs = budget.readTimeoutAt(now);
    if (readTimeoutMs === undefined) return 'deferred';
    try {
      const outcome = await this.sync.sync(order, 'reconciler', { readTimeoutMs });
      if (outcome === 'CLOSE_DUE') return await this.close(order, owner, budget);
      if (outcome === 'STILL_UNPAID') {
        await this.reschedule(order, owner, nextCheckAt(order, order.checkAttempts + 1, now), null);
        return 'unpaid';
      }
      return COUNTED_AS[outcome] ?? 'unchanged';
    } catch (error) {
      if (!(error instanceof WechatPayError)) throw error;
      await this.reschedule(
        order,
        owner,
        nextCheckAt(order, order.checkAttempts + 1, now),
        describe(error),
      );
      return 'error';
    }
  }

  /** closeorder within the budget; a close WeChat refuses for now is tried again later. */
  private async close(
    order: OrderEntity,
    owner: string,
    budget: LeaseBudget,
  ): Promise<ReconcileOutcome> {
    const readTimeoutMs = budget.readTimeoutAt(this.clock.now());
    if (readTimeoutMs === undefined) return 'deferred';
    try {
      const outcome = await this.sync.close(order, 'reconciler', {
        readTimeoutMs,
        queryTimeoutMs: () => budget.readTimeoutAt(this.clock.now()),
      });
      // ORDERPAID: the follow-up orderquery settles a payment, or finds it already recorded.
      if (outcome === 'AMOUNT_MISMATCH' || outcome === 'MERCHANT_MISMATCH') return 'unchanged';
      return COUNTED_AS[outcome] ?? 'unchanged';
    } catch (error) {
      if (!(error instanceof WechatPayError)) throw error;
      await this.reschedule(order, owner, this.clock.now() + CLOSE_RETRY_MS, describe(error));
      return 'error';
    }
  }

  private async reschedule(
    order: OrderEntity,
    owner: string,
    when: number,
    lastError: string | null,
  ): Promise<void> {
    await this.transactions.write(RESCHEDULE, [when, lastError, this.clock.now(), order.id, owner]);
  }
}

function describe(error: WechatPayError): string {
  return `${error.code}: ${error.message}`.slice(0, 255);
}
