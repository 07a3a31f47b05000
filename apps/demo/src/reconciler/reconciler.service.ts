import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { WechatPayBusinessError, WechatPayError, WechatPayGateway } from 'nestjs-wechat-pay-v2';
import { In } from 'typeorm';
import { Clock } from '../clock';
import { DEMO_CONFIG, type DemoConfig } from '../config/demo.config';
import { OrderEntity } from '../database/entities';
import { Transactions } from '../database/transactions';
import { MetricsService } from '../metrics/metrics.service';
import { OrderSyncService } from '../payments/order-sync.service';
import { PaymentsService } from '../payments/payments.service';
import { CLOSE_RETRY_MS, nextCheckAt } from './backoff';
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

export interface ReconcileSummary {
  claimed: number;
  outcomes: Record<ReconcileOutcome, number>;
  durationMs: number;
}

const INTERVAL_NAME = 'order-reconciler';

/**
 * Finds unpaid orders whose next check is due and settles them with WeChat: paid ones through the
 * exactly-once path, expired or cancelled ones closed with closeorder.
 *
 * Several instances can run at once. A pass claims a batch in a short transaction (FOR UPDATE SKIP
 * LOCKED on PostgreSQL) by stamping a lease on the rows and pushing their next check to the lease's
 * end; the lock is gone before any HTTP call, and a crashed instance's orders simply come due again
 * when the lease runs out. The selection reads the partial index on unpaid orders' next check.
 * A pass never outlives its lease, so no other instance claims an order while it is being worked
 * on: see LeaseBudget (per-call timeouts, no renewal).
 */
@Injectable()
export class ReconcilerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ReconcilerService.name);
  private running: Promise<ReconcileSummary> | undefined;

  constructor(
    private readonly gateway: WechatPayGateway,
    private readonly sync: OrderSyncService,
    private readonly payments: PaymentsService,
    private readonly transactions: Transactions,
    private readonly scheduler: SchedulerRegistry,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.reconciler.enabled) return;
    const timer = setInterval(() => {
      this.runOnce().catch((error: unknown) =>
        this.logger.error(
          `reconciler pass failed: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
    }, this.config.reconciler.intervalMs);
    this.scheduler.addInterval(INTERVAL_NAME, timer);
  }

  onModuleDestroy(): void {
    if (this.scheduler.doesExist('interval', INTERVAL_NAME))
      this.scheduler.deleteInterval(INTERVAL_NAME);
  }

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
    let next = 0;
    const worker = async () => {
      while (next < orders.length) {
        const order = orders[next++];
        outcomes[await this.reconcile(order, owner, budget)]++;
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.config.reconciler.concurrency, orders.length) }, worker),
    );
    const summary = { claimed: orders.length, outcomes, durationMs: this.clock.now() - started };
    if (orders.length > 0) {
      this.logger.log(
        `pass: claimed ${orders.length}, paid ${outcomes.paid}, closed ${outcomes.closed}, still unpaid ${outcomes.unpaid}, ` +
          `review ${outcomes.review}, errors ${outcomes.error}, unchanged ${outcomes.unchanged}, ` +
          `deferred ${outcomes.deferred} in ${summary.durationMs} ms`,
      );
    }
    return summary;
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

  /** orderquery within the pass's budget, applied through the exactly-once paths. */
  private async query(order: OrderEntity, readTimeoutMs: number) {
    const result = await this.gateway.orderQuery({ outTradeNo: order.orderNo }, { readTimeoutMs });
    return this.sync.apply(order, result, 'reconciler');
  }

  private async reconcile(
    order: OrderEntity,
    owner: string,
    budget: LeaseBudget,
  ): Promise<ReconcileOutcome> {
    const now = this.clock.now();
    const readTimeoutMs = budget.readTimeoutAt(now);
    if (readTimeoutMs === undefined) return 'deferred';
    try {
      const outcome = await this.query(order, readTimeoutMs);
      switch (outcome) {
        case 'PAID':
        case 'PAID_AFTER_CLOSE':
          return 'paid';
        case 'AMOUNT_MISMATCH':
        case 'MERCHANT_MISMATCH':
          return 'review';
        case 'CLOSED':
          return 'closed';
        case 'STILL_UNPAID':
          if (now >= order.expiresAt || order.cancelRequestedAt !== null)
            return this.close(order, owner, budget);
          await this.reschedule(
            order,
            owner,
            nextCheckAt(order, order.checkAttempts + 1, now),
            null,
          );
          return 'unpaid';
        default:
          return 'unchanged';
      }
    } catch (error) {
      if (!(error instanceof WechatPayError)) throw error;
      if (error instanceof WechatPayBusinessError && error.errCode === 'ORDERNOTEXIST') {
        // WeChat never saw the order (its unifiedorder failed). Until it expires the user may still
        // pay it through POST /pay, which creates it at WeChat; after that nothing can be paid.
        if (now >= order.expiresAt || order.cancelRequestedAt !== null) {
          return (await this.payments.close(order.id)) ? 'closed' : 'unchanged';
        }
        await this.reschedule(order, owner, nextCheckAt(order, order.checkAttempts + 1, now), null);
        return 'unpaid';
      }
      await this.reschedule(
        order,
        owner,
        nextCheckAt(order, order.checkAttempts + 1, now),
        describe(error),
      );
      return 'error';
    }
  }

  private async close(
    order: OrderEntity,
    owner: string,
    budget: LeaseBudget,
  ): Promise<ReconcileOutcome> {
    const readTimeoutMs = budget.readTimeoutAt(this.clock.now());
    if (readTimeoutMs === undefined) return 'deferred';
    try {
      await this.gateway.closeOrder(order.orderNo, { readTimeoutMs });
      return (await this.payments.close(order.id)) ? 'closed' : 'unchanged';
    } catch (error) {
      if (!(error instanceof WechatPayError)) throw error;
      if (error instanceof WechatPayBusinessError) {
        if (error.errCode === 'ORDERPAID') {
          const queryTimeoutMs = budget.readTimeoutAt(this.clock.now());
          if (queryTimeoutMs === undefined) return 'deferred';
          const outcome = await this.query(order, queryTimeoutMs);
          return outcome === 'PAID' || outcome === 'PAID_AFTER_CLOSE' ? 'paid' : 'unchanged';
        }
        if (error.errCode === 'ORDERCLOSED' || error.errCode === 'ORDERNOTEXIST') {
          return (await this.payments.close(order.id)) ? 'closed' : 'unchanged';
        }
      }
      await this.reschedule(order, owner, this.clock.now() + CLOSE_RETRY_MS, describe(error));
      return 'error';
    }
  }

  /** Releases the lease with the next check time, unless the order changed or another pass took it. */
  private async reschedule(
    order: OrderEntity,
    owner: string,
    when: number,
    lastError: string | null,
  ): Promise<void> {
    await this.transactions.run((manager) =>
      manager
        .getRepository(OrderEntity)
        .createQueryBuilder()
        .update()
        .set({
          nextCheckAt: when,
          checkAttempts: () => 'check_attempts + 1',
          leaseOwner: null,
          leaseUntil: null,
          lastError,
          updatedAt: this.clock.now(),
        })
        .where(`id = :id AND status = 'UNPAID' AND lease_owner = :owner`, { id: order.id, owner })
        .execute(),
    );
  }
}

function describe(error: WechatPayError): string {
  return `${error.code}: ${error.message}`.slice(0, 255);
}
