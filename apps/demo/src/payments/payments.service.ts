import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../clock';
import {
  FulfilmentEntity,
  OrderEntity,
  PaymentReviewEntity,
  type NotificationOutcome,
  type PaymentSource,
  type ReviewKind,
} from '../database/entities';
import { Transactions } from '../database/transactions';

/** What WeChat reported about a payment, from a notification or from orderquery. */
export interface PaymentEvidence {
  outTradeNo: string;
  transactionId: string;
  totalFee: number;
  appId: string;
  mchId: string;
}

export type SettleOutcome = NotificationOutcome;

/**
 * The one place an order becomes paid. Whether the payment was learned from a notification, from
 * orderquery on a GET, or from the reconciler, and however those race, the order moves to PAID
 * once and gets one fulfilment:
 * - the transition is a conditional UPDATE ... WHERE status = 'UNPAID' whose affected-row count
 *   says who won; every loser sees 0 rows and reports a duplicate;
 * - the fulfilment row is inserted in the same transaction and its order_id is unique, so even a
 *   bug upstream could not fulfil twice.
 */
@Injectable()
export class PaymentsService {
  private readonly logger = new Logger(PaymentsService.name);

  constructor(
    private readonly transactions: Transactions,
    private readonly clock: Clock,
  ) {}

  /**
   * `record`, when given, runs in the settle transaction with its outcome: whatever it writes
   * commits with the settlement or not at all.
   */
  settle(
    evidence: PaymentEvidence,
    source: PaymentSource,
    record?: (manager: EntityManager, outcome: SettleOutcome) => Promise<void>,
  ): Promise<SettleOutcome> {
    return this.transactions.run(async (manager) => {
      const outcome = await this.settleIn(manager, evidence, source);
      if (record) await record(manager, outcome);
      return outcome;
    });
  }

  private async settleIn(
    manager: EntityManager,
    evidence: PaymentEvidence,
    source: PaymentSource,
  ): Promise<SettleOutcome> {
    const orders = manager.getRepository(OrderEntity);
    const order = await orders.findOneBy({ orderNo: evidence.outTradeNo });
    if (!order) return 'UNKNOWN_ORDER';

    if (evidence.appId !== order.appId || evidence.mchId !== order.mchId) {
      await this.review(manager, order, evidence, 'MERCHANT_MISMATCH', {
        expected: { appId: order.appId, mchId: order.mchId },
        reported: { appId: evidence.appId, mchId: evidence.mchId },
      });
      return 'MERCHANT_MISMATCH';
    }
    if (evidence.totalFee !== order.amountFen) {
      await this.review(manager, order, evidence, 'AMOUNT_MISMATCH', {
        expectedFen: order.amountFen,
        reportedFen: evidence.totalFee,
      });
      // Asking WeChat again cannot change the amount: a person takes it from here.
      await orders.update(
        { id: order.id, status: 'UNPAID' },
        { nextCheckAt: null, leaseOwner: null, leaseUntil: null },
      );
      return 'AMOUNT_MISMATCH';
    }

    const now = this.clock.now();
    const paid = {
      status: 'PAID' as const,
      transactionId: evidence.transactionId,
      paidAt: now,
      paidVia: source,
      nextCheckAt: null,
      leaseOwner: null,
      leaseUntil: null,
      lastError: null,
      updatedAt: now,
    };
    const fromUnpaid = await orders.update({ id: order.id, status: 'UNPAID' }, paid);
    if (fromUnpaid.affected === 1) {
      await this.fulfil(manager, order, source, now);
      this.logger.log(
        `order ${order.orderNo} paid (${source}), transaction ${evidence.transactionId}`,
      );
      return 'PAID';
    }

    // A payment WeChat confirms for an order we had closed (the user paid just before the close
    // reached WeChat) is real money: record it, fulfil it, and flag it for a person.
    const fromClosed = await orders.update({ id: order.id, status: 'CLOSED' }, paid);
    if (fromClosed.affected === 1) {
      await this.fulfil(manager, order, source, now);
      await this.review(manager, order, evidence, 'PAID_AFTER_CLOSE', { closedAt: order.closedAt });
      this.logger.warn(
        `order ${order.orderNo} was closed here but paid at WeChat; recorded for review`,
      );
      return 'PAID_AFTER_CLOSE';
    }
    return 'DUPLICATE';
  }

  private async fulfil(
    manager: EntityManager,
    order: OrderEntity,
    source: PaymentSource,
    now: number,
  ) {
    await manager.getRepository(FulfilmentEntity).insert({
      orderId: order.id,
      orderNo: order.orderNo,
      source,
      createdAt: now,
    });
  }

  /** One review row per order, kind and transaction, however often the same evidence arrives. */
  private async review(
    manager: EntityManager,
    order: OrderEntity,
    evidence: PaymentEvidence,
    kind: ReviewKind,
    details: Record<string, unknown>,
  ): Promise<void> {
    // The unique (order_no, kind, transaction_id) index turns a repeat into a no-op.
    const inserted = await manager
      .createQueryBuilder()
      .insert()
      .into(PaymentReviewEntity)
      .values({
        createdAt: this.clock.now(),
        orderNo: order.orderNo,
        transactionId: evidence.transactionId,
        kind,
        expectedFen: order.amountFen,
        reportedFen: evidence.totalFee,
        details: JSON.stringify(details),
      })
      .orIgnore()
      .execute();
    if (inserted.identifiers.length > 0 && inserted.identifiers[0] !== undefined) {
      this.logger.warn(`payment for order ${order.orderNo} needs review: ${kind}`);
    }
  }

  /** Moves an unpaid order to CLOSED; false when it was no longer unpaid (e.g. it just got paid). */
  close(orderId: number): Promise<boolean> {
    return this.transactions.run(async (manager) => {
      const now = this.clock.now();
      const result = await manager.getRepository(OrderEntity).update(
        { id: orderId, status: 'UNPAID' },
        {
          status: 'CLOSED',
          closedAt: now,
          nextCheckAt: null,
          leaseOwner: null,
          leaseUntil: null,
          updatedAt: now,
        },
      );
      return result.affected === 1;
    });
  }
}
