import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../clock';
import { Statement, type RowInsert, type SqlValue } from '../database/statement';
import { Transactions } from '../database/transactions';
import {
  next,
  paymentEvent,
  stateOf,
  storedStatus,
  type OrderEvent,
  type Step,
} from '../orders/order-machine';
import {
  ORDER_COLUMNS,
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
 * A settle reads the order, then writes what the state machine says: a write that finds the
 * order moved on writes nothing and the settle reads again. Statuses only move forward (UNPAID to
 * PAID or CLOSED, CLOSED to PAID), so three reads always suffice.
 */
const SETTLE_ATTEMPTS = 3;

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
    for (let attempt = 1; ; attempt++) {
      const [row] = await this.transactions.read(ORDER_BY_NO, [evidence.outTradeNo]);
      const order = row ? orderFromRow(row) : undefined;
      const event: OrderEvent = order ? paymentEvent(order, evidence) : 'PAID';
      const state = stateOf(order, this.clock.now());
      const step = next(state, event);
      if (await this.write(order, state, step, evidence, source, notification)) {
        this.report(order, step, evidence, source);
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
        id: orderId,
        status: 'UNPAID',
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

  private write(
    order: OrderEntity | undefined,
    state: ReturnType<typeof stateOf>,
    step: Step,
    evidence: PaymentEvidence,
    source: PaymentSource,
    notification: NotificationRecord | undefined,
  ): Promise<boolean> {
    const now = this.clock.now();
    const inserts: RowInsert[] = [];
    let set: Record<string, SqlValue> | undefined;
    if (order && step.to === 'PAID' && state !== 'PAID') {
      set = {
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
    } else if (step.effects.includes('stopChecks')) {
      // Asking WeChat again cannot change the amount: a person takes it from here.
      set = { next_check_at: null, lease_owner: null, lease_until: null };
    }
    if (order && step.effects.includes('fulfil')) {
      inserts.push({
        table: 'fulfilments',
        values: { order_id: order.id, order_no: order.orderNo, source, created_at: now },
      });
    }
    if (order && step.effects.includes('review')) {
      inserts.push(this.review(order, evidence, step.outcome as ReviewKind, now));
    }
    if (notification) {
      inserts.push({
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
    const status = storedStatus(state);
    const update =
      order && set && status ? { table: 'orders', id: order.id, status, set } : undefined;
    return this.transactions.writeIf(update, inserts);
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

  private report(
    order: OrderEntity | undefined,
    step: Step,
    evidence: PaymentEvidence,
    source: PaymentSource,
  ): void {
    const orderNo = evidence.outTradeNo;
    if (step.outcome === 'PAID') {
      this.logger.log(`order ${orderNo} paid (${source}), transaction ${evidence.transactionId}`);
    } else if (step.outcome === 'PAID_AFTER_CLOSE') {
      this.logger.warn(`order ${orderNo} was closed here but paid at WeChat; recorded for review`);
    } else if (order && step.effects.includes('review')) {
      this.logger.warn(`payment for order ${orderNo} needs review: ${step.outcome}`);
    }
  }
}
