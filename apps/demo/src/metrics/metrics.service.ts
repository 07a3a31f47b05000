import { Injectable, Logger } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type {
  WechatPayGatewayCallEvent,
  WechatPayHooks,
  WechatPayNotificationEvent,
} from 'nestjs-wechat-pay-v2';
import { DataSource } from 'typeorm';
import { Clock } from '../clock';
import type { OrderStatus } from '../orders/order-machine';
import { OrderEntity } from '../orders/order.entity';
import type { ReconcileOutcome, ReconcileSummary } from '../reconciler/reconciler.service';

const ORDER_STATUSES: OrderStatus[] = [
  'UNPAID',
  'PAID',
  'PARTIALLY_REFUNDED',
  'REFUNDED',
  'CLOSED',
];
/** Label values come from WeChat's answers: keep them short and in a plain alphabet. */
const label = (value: string) => value.replace(/[^\w/.-]/g, '_').slice(0, 64);
const DATABASE_LOG_INTERVAL_MS = 60_000;

export type ReconcilerPassOutcome = 'idle' | 'ok' | 'errors' | 'deferred' | 'failed';

/**
 * The shop's Prometheus metrics, in a registry of its own (several app instances can share one
 * process, as the tests do). WeChat calls and notifications arrive through the module's hooks
 * (`onGatewayCall`, `onNotification`); orders by status and the due-order backlog are counted
 * in the database when /metrics is scraped.
 */
@Injectable()
export class MetricsService implements WechatPayHooks {
  readonly registry = new Registry();
  private readonly logger = new Logger('Metrics');
  private databaseLoggedAt = 0;

  private readonly gatewayCalls = new Counter({
    name: 'wechatpay_gateway_calls_total',
    help: 'Calls to WeChat by endpoint and result (SUCCESS, err_code or library error code)',
    labelNames: ['endpoint', 'result'],
    registers: [this.registry],
  });

  private readonly gatewayDuration = new Histogram({
    name: 'wechatpay_gateway_call_duration_seconds',
    help: 'Duration of calls to WeChat, whatever their result',
    labelNames: ['endpoint'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16],
    registers: [this.registry],
  });

  private readonly notifications = new Counter({
    name: 'wechatpay_notifications_total',
    help: 'Notifications answered, by kind (payment, refund) and outcome',
    labelNames: ['kind', 'outcome'],
    registers: [this.registry],
  });

  private readonly reconcilerPasses = new Counter({
    name: 'shop_reconciler_passes_total',
    help: 'Reconciler passes: idle (nothing due), ok, errors (some orders failed), deferred (lease budget ran out), failed',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  private readonly reconcilerOrders = new Counter({
    name: 'shop_reconciler_orders_total',
    help: 'Orders the reconciler handled, by outcome',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  private readonly reconcilerDuration = new Histogram({
    name: 'shop_reconciler_pass_duration_seconds',
    help: 'Duration of reconciler passes that claimed orders',
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {
    collectDefaultMetrics({ register: this.registry });
    const orders: Gauge = new Gauge({
      name: 'shop_orders',
      help: 'Orders by status, counted at scrape time',
      labelNames: ['status'],
      registers: [this.registry],
      collect: async () => {
        const counts = await this.ordersByStatus();
        orders.reset();
        if (counts) for (const [status, n] of counts) orders.set({ status }, n);
      },
    });
    const due: Gauge = new Gauge({
      name: 'shop_reconciler_due_orders',
      help: 'Unpaid orders whose next check is due, counted at scrape time (the reconciler backlog)',
      registers: [this.registry],
      collect: async () => {
        const n = await this.dueOrders();
        due.reset();
        if (n !== undefined) due.set(n);
      },
    });
  }

  onGatewayCall(event: WechatPayGatewayCallEvent): void {
    const endpoint = label(event.endpoint);
    this.gatewayCalls.inc({ endpoint, result: label(event.result) });
    this.gatewayDuration.observe({ endpoint }, Math.max(0, event.durationMs) / 1000);
  }

  onNotification(event: WechatPayNotificationEvent): void {
    this.notifications.inc({ kind: label(event.kind), outcome: label(event.outcome) });
  }

  reconcilerPass(summary: ReconcileSummary): void {
    for (const [outcome, n] of Object.entries(summary.outcomes) as [ReconcileOutcome, number][]) {
      if (n > 0) this.reconcilerOrders.inc({ outcome }, n);
    }
    this.reconcilerPasses.inc({ outcome: passOutcome(summary) });
    if (summary.claimed > 0) this.reconcilerDuration.observe(summary.durationMs / 1000);
  }

  reconcilerPassFailed(): void {
    this.reconcilerPasses.inc({ outcome: 'failed' });
  }

  /** The text Prometheus scrapes. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  private async ordersByStatus(): Promise<Map<string, number> | undefined> {
    try {
      const rows = await this.dataSource
        .getRepository(OrderEntity)
        .createQueryBuilder('o')
        .select('o.status', 'status')
        .addSelect('COUNT(*)', 'n')
        .groupBy('o.status')
        .getRawMany<{ status: string; n: string | number }>();
      const counts = new Map<string, number>(ORDER_STATUSES.map((s) => [s, 0]));
      for (const row of rows) counts.set(row.status, Number(row.n));
      return counts;
    } catch (error) {
      this.databaseFailed(error);
      return undefined;
    }
  }

  private async dueOrders(): Promise<number | undefined> {
    try {
      return await this.dataSource
        .getRepository(OrderEntity)
        .createQueryBuilder('o')
        .where(`o.status = 'UNPAID'`)
        .andWhere('o.next_check_at <= :now', { now: this.clock.now() })
        .getCount();
    } catch (error) {
      this.databaseFailed(error);
      return undefined;
    }
  }

  /** A scrape without the database still answers, without the database's gauges. */
  private databaseFailed(error: unknown): void {
    const now = Date.now();
    if (now - this.databaseLoggedAt < DATABASE_LOG_INTERVAL_MS) return;
    this.databaseLoggedAt = now;
    this.logger.warn(
      `order gauges left out of the scrape: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function passOutcome(summary: ReconcileSummary): ReconcilerPassOutcome {
  if (summary.claimed === 0 && summary.refunds.claimed === 0) return 'idle';
  if (summary.outcomes.error > 0 || summary.refunds.outcomes.error > 0) return 'errors';
  if (summary.outcomes.deferred > 0) return 'deferred';
  return 'ok';
}
