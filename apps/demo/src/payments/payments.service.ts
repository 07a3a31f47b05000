import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../clock';
import {
  changedColumn,
  Statement,
  type ConditionalUpdate,
  type InsertValue,
  type RowInsert,
  type SqlValue,
} from '../database/statement';
import { Transactions } from '../database/transactions';
import {
  next,
  PAYMENT_MATCH,
  paymentEvent,
  stateOf,
  storedStatus,
  type OrderEvent,
  type OrderState,
  type Step,
} from '../orders/order-machine';
import {
  ORDER_COLUMNS,
  orderColumn,
  orderFromRow,
  type OrderEntity,
  type PaymentSource,
} from '../orders/order.entity';
import type { NotificationOutcome } from './payment-notification.entity';
import type { ReviewKind } from './payment-review.entity';

/** What WeChat reported about a payment, from a notification or from orderquery. */
export interface PaymentEvidence {
  outTradeNo: string;
  transactionId: string;
  totalFee: number;
  appId: string;
  mchId: string;
}

export type SettleOutcome = NotificationOutcome;

/** A notification to keep with the settlement it caused (payment_notifications). */
export interface NotificationRecord {
  receivedAt: number;
  /** The notification's fields as JSON. */
  raw: string;
}

const ORDER_BY_NO = new Statement(`SELECT ${ORDER_COLUMNS} FROM orders WHERE order_no = $1`);

/**
 * After the first write, a settle reads the order and writes what the state machine says; a
 * write that finds the order moved on writes nothing, and the settle reads again. Statuses only
 * move forward (UNPAID to PAID or CLOSED, CLOSED to PAID), so three reads always suffice.
 */
const SETTLE_ATTEMPTS = 3;

/** What a payment does to an unpaid order (the same for UNPAID and CLOSING, checked by a spec). */
const PAID_FROM_UNPAID = next('UNPAID', 'PAID');
/** Each order column a payment must match, with the reported field it must equal. */
const MATCHED_COLUMNS = PAYMENT_MATCH.map(
  (match) => [orderColumn(match.order), match.reported] as const,
);

/**
 * Where WeChat's reports of a payment, and of a closed order, change orders. However a payment
 * is learned (a notification, orderquery on a GET, the reconciler) and however those race, the
 * order moves to PAID once and gets one fulfilment:
 * - the transition is a conditional update (`... WHERE id = ? AND status = <status read>`) whose
 *   affected-row count says who won; the fulfilment, a review and the notification's audit row
 *   are written only with it, in one unit, and every loser reads again and finds a duplicate;
 * - the fulfilment's order_id is unique, so even a bug upstream could not fulfil twice.
 */
@Injectable()
export class PaymentsService {
  private readonly logger = new Logger(PaymentsService.name);

  constructor(
    private readonly transactions: Transactions,
    private readonly clock: Clock,
  ) {}

  /** `notification`, when given, is stored with the settlement, whatever its outcome. */
  async settle(
    evidence: PaymentEvidence,
    source: PaymentSource,
    notification?: NotificationRecord,
  ): Promise<SettleOutcome> {
    if (await this.payUnpaidOrder(evidence, source, notification)) {
      this.report(PAID_FROM_UNPAID, evidence, source);
      return 'PAID';
    }
    for (let attempt = 1; ; attempt++) {
      const [row] = await this.transactions.read(ORDER_BY_NO, [evidence.outTradeNo]);
      const order = row ? orderFromRow(row) : undefined;
      const event: OrderEvent = order ? paymentEvent(order, evidence) : 'PAID';
      const state = stateOf(order, this.clock.now());
      const step = next(state, event);
      if (await this.write(order, state, step, evidence, source, notification)) {
        if (order) this.report(step, evidence, source);
        return step.outcome as SettleOutcome;
      }
      if (attempt === SETTLE_ATTEMPTS) {
        throw new Error(`order ${evidence.outTradeNo} kept changing while being settled`);
      }
    }
  }

  /** Moves an unpaid order to CLOSED; false when it was no longer unpaid (it just got paid, say). */
  async close(orderId: number): Promise<boolean> {
    const now = this.clock.now();
    return this.transactions.writeIf(
      {
        table: 'orders',
        where: { id: orderId, status: 'UNPAID' },
        set: {
          status: 'CLOSED',
          closed_at: now,
          next_check_at: null,
          lease_owner: null,
          lease_until: null,
          updated_at: now,
        },
      },
      [],
    );
  }

  /**
   * The usual case, written before anything is read: the payment of an unpaid order with the
   * appid, mch_id and amount it was placed with. The update is guarded by exactly those facts
   * (PAYMENT_MATCH) and the unpaid status, so it moves an order only where reading it first would
   * have led to the same step; anywhere else it changes nothing, and the order is read.
   */
  private payUnpaidOrder(
    evidence: PaymentEvidence,
    source: PaymentSource,
    notification: NotificationRecord | undefined,
  ): Promise<boolean> {
    const where: Record<string, SqlValue> = { order_no: evidence.outTradeNo, status: 'UNPAID' };
    for (const [column, reported] of MATCHED_COLUMNS) where[column] = evidence[reported];
    const update = { table: 'orders', where, set: this.paid(evidence, source) };
    return this.transactions.writeIf(
      update,
      this.rows(changedColumn('id'), undefined, PAID_FROM_UNPAID, evidence, source, notification),
    );
  }

  private write(
    order: OrderEntity | undefined,
    state: OrderState,
    step: Step,
    evidence: PaymentEvidence,
    source: PaymentSource,
    notification: NotificationRecord | undefined,
  ): Promise<boolean> {
    const status = storedStatus(state);
    let update: ConditionalUpdate | undefined;
    if (order && status) {
      const where = { id: order.id, status };
      if (step.to === 'PAID' && state !== 'PAID') {
        update = { table: 'orders', where, set: this.paid(evidence, source) };
      } else if (step.effects.includes('stopChecks')) {
        // Asking WeChat again cannot change the amount: a person takes it from here.
        const set = { next_check_at: null, lease_owner: null, lease_until: null };
        update = { table: 'orders', where, set };
      }
    }
    return this.transactions.writeIf(
      update,
      this.rows(order?.id, order, step, evidence, source, notification),
    );
  }

  private paid(evidence: PaymentEvidence, source: PaymentSource): Record<string, SqlValue> {
    const now = this.clock.now();
    return {
      status: 'PAID',
      transaction_id: evidence.transactionId,
      paid_at: now,
      paid_via: source,
      next_check_at: null,
      lease_owner: null,
      lease_until: null,
      last_error: null,
      updated_at: now,
    };
  }

  /**
   * The rows a step writes besides the order's own: its fulfilment, a review (steps that review
   * come from reading the order) and the notification.
   */
  private rows(
    orderId: InsertValue | undefined,
    order: OrderEntity | undefined,
    step: Step,
    evidence: PaymentEvidence,
    source: PaymentSource,
    notification: NotificationRecord | undefined,
  ): RowInsert[] {
    const now = this.clock.now();
    const rows: RowInsert[] = [];
    if (orderId !== undefined && step.effects.includes('fulfil')) {
      rows.push({
        table: 'fulfilments',
        values: { order_id: orderId, order_no: evidence.outTradeNo, source, created_at: now },
      });
    }
    if (order && step.effects.includes('review')) {
      rows.push(this.review(order, evidence, step.outcome as ReviewKind, now));
    }
    if (notification) {
      rows.push({
        table: 'payment_notifications',
        values: {
          received_at: notification.receivedAt,
          out_trade_no: evidence.outTradeNo,
          transaction_id: evidence.transactionId,
          total_fee: evidence.totalFee,
          outcome: step.outcome,
          raw: notification.raw,
        },
      });
    }
    return rows;
  }

  /** One review row per order, kind and transaction: the unique index turns a repeat into a no-op. */
  private review(
    order: OrderEntity,
    evidence: PaymentEvidence,
    kind: ReviewKind,
    now: number,
  ): RowInsert {
    const details =
      kind === 'MERCHANT_MISMATCH'
        ? {
            expected: { appId: order.appId, mchId: order.mchId },
            reported: { appId: evidence.appId, mchId: evidence.mchId },
          }
        : kind === 'AMOUNT_MISMATCH'
          ? { expectedFen: order.amountFen, reportedFen: evidence.totalFee }
          : { closedAt: order.closedAt };
    return {
      table: 'payment_reviews',
      values: {
        created_at: now,
        order_no: order.orderNo,
        transaction_id: evidence.transactionId,
        kind,
        expected_fen: order.amountFen,
        reported_fen: evidence.totalFee,
        details: JSON.stringify(details),
      },
      ignoreDuplicate: true,
    };
  }

  private report(step: Step, evidence: PaymentEvidence, source: PaymentSource): void {
    const orderNo = evidence.outTradeNo;
    if (step.outcome === 'PAID') {
      this.logger.log(`order ${orderNo} paid (${source}), transaction ${evidence.transactionId}`);
    } else if (step.outcome === 'PAID_AFTER_CLOSE') {
      this.logger.warn(`order ${orderNo} was closed here but paid at WeChat; recorded for review`);
    } else if (step.effects.includes('review')) {
      this.logger.warn(`payment for order ${orderNo} needs review: ${step.outcome}`);
    }
  }
}
