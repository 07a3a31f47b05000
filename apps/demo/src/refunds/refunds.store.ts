import { Injectable } from '@nestjs/common';
import { Statement, type Row, type SqlRunner } from '../database/statement';
import { Transactions } from '../database/transactions';
import { PAID_STATUSES } from '../orders/order-machine';
import { RefundEntity, type RefundStatus } from './refund.entity';

const REFUND_COLUMNS =
  'id, refund_no, order_id, order_no, total_fen, amount_fen, reason, status, refund_id, ' +
  'refund_channel, recv_account, success_at, next_check_at, check_attempts, lease_owner, ' +
  'lease_until, last_error, created_at, updated_at';

/** The paid statuses as an SQL list: literals, not parameters, as the statuses are ours. */
const PAID = PAID_STATUSES.map((status) => `'${status}'`).join(', ');
const OPEN = "'PENDING', 'PROCESSING'";

const BY_NO = new Statement(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE refund_no = $1`);
const BY_ID = new Statement(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE id = $1`);
const OF_ORDER = new Statement(
  `SELECT ${REFUND_COLUMNS} FROM refunds WHERE order_id = $1 ORDER BY id`,
);

/**
 * Reserves a refund's amount on its order: only a paid order, and only while the refunds that are
 * not closed stay within what was paid. Concurrent reservations queue on the order's row, and each
 * re-checks the condition against the total the one before it committed.
 */
const RESERVE = new Statement(
  'UPDATE orders SET refund_reserved_fen = refund_reserved_fen + $1, updated_at = $2 ' +
    `WHERE id = $3 AND status IN (${PAID}) AND refund_reserved_fen + $1 <= amount_fen`,
);
const INSERT = new Statement(
  'INSERT INTO refunds (refund_no, order_id, order_no, total_fen, amount_fen, reason, status, ' +
    'next_check_at, check_attempts, created_at, updated_at) ' +
    "VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', $7, 0, $8, $8) RETURNING id",
);
/** Gives a closed refund's amount back to what may still be refunded. */
const RELEASE = new Statement(
  'UPDATE orders SET refund_reserved_fen = refund_reserved_fen - $1, updated_at = $2 ' +
    'WHERE id = $3 AND refund_reserved_fen >= $1',
);
/** WeChat accepted it: from now on it is polled with refundquery, not sent again. */
const ACCEPTED = new Statement(
  "UPDATE refunds SET status = 'PROCESSING', refund_id = $1, next_check_at = $2, " +
    'check_attempts = 0, lease_owner = NULL, lease_until = NULL, last_error = NULL, updated_at = $3 ' +
    "WHERE id = $4 AND status = 'PENDING'",
);
/** The next check, unless the refund moved on or another pass holds it. */
const RESCHEDULE = new Statement(
  'UPDATE refunds SET next_check_at = $1, check_attempts = check_attempts + 1, ' +
    'lease_owner = NULL, lease_until = NULL, last_error = $2, updated_at = $3 ' +
    "WHERE id = $4 AND status = $5 AND COALESCE(lease_owner, '') = $6",
);
/** A final status, from PENDING or PROCESSING only: whoever moves it first applies its effects. */
const FINISH = new Statement(
  'UPDATE refunds SET status = $1, refund_id = COALESCE(refund_id, $2), success_at = $3, ' +
    'refund_channel = COALESCE($4, refund_channel), recv_account = COALESCE($5, recv_account), ' +
    'next_check_at = NULL, lease_owner = NULL, lease_until = NULL, last_error = $6, updated_at = $7 ' +
    `WHERE id = $8 AND status IN (${OPEN})`,
);
/**
 * A successful refund's effect on the order: the refunded total and the status that follows from
 * it (as `refundedStatus` computes it), never past what was paid.
 */
const REFUNDED = new Statement(
  'UPDATE orders SET refunded_fen = refunded_fen + $1, ' +
    "status = CASE WHEN refunded_fen + $1 >= amount_fen THEN 'REFUNDED' ELSE 'PARTIALLY_REFUNDED' END, " +
    `updated_at = $2 WHERE id = $3 AND status IN (${PAID}) AND refunded_fen + $1 <= amount_fen`,
);
const REVERSAL = new Statement(
  'INSERT INTO fulfilment_reversals (refund_id, order_id, order_no, amount_fen, created_at) ' +
    'VALUES ($1, $2, $3, $4, $5)',
);
const REVIEW = new Statement(
  'INSERT INTO payment_reviews (created_at, order_no, transaction_id, kind, expected_fen, ' +
    "reported_fen, details) VALUES ($1, $2, $3, 'REFUND_CHANGE', $4, $5, $6)",
);
const DUE = new Statement(
  `SELECT id FROM refunds WHERE status IN (${OPEN}) AND next_check_at <= $1 ` +
    'ORDER BY next_check_at LIMIT $2',
);
const DUE_LOCKED = new Statement(`${DUE.text} FOR UPDATE SKIP LOCKED`);
const LEASE = new Statement(
  'UPDATE refunds SET lease_owner = $1, lease_until = $2, next_check_at = $2 ' +
    `WHERE id = $3 AND status IN (${OPEN})`,
);
const LEASED = new Statement(
  `SELECT ${REFUND_COLUMNS} FROM refunds WHERE lease_owner = $1 ORDER BY next_check_at, id`,
);

/** A refund as it is about to be written. */
export interface NewRefund {
  refundNo: string;
  orderId: number;
  orderNo: string;
  totalFen: number;
  amountFen: number;
  reason: string | null;
  /** When the reconciler may send it again if this request never records WeChat's answer. */
  nextCheckAt: number;
}

/** What WeChat finally said about a refund (notification or refundquery). */
export interface RefundFinal {
  status: Extract<RefundStatus, 'SUCCESS' | 'CLOSED' | 'CHANGE'>;
  /** WeChat's refund_id; null for a refund WeChat refused, which never got one. */
  refundId: string | null;
  successAt: number | null;
  refundChannel: string | null;
  recvAccount: string | null;
  /** For the record (a CHANGE review, a closed refund's last_error). */
  detail: string | null;
}

const maybeNumber = (value: unknown) => (value === null ? null : Number(value));

export function refundFromRow(row: Row): RefundEntity {
  return Object.assign(new RefundEntity(), {
    id: Number(row.id),
    refundNo: row.refund_no as string,
    orderId: Number(row.order_id),
    orderNo: row.order_no as string,
    totalFen: Number(row.total_fen),
    amountFen: Number(row.amount_fen),
    reason: row.reason as string | null,
    status: row.status as RefundStatus,
    refundId: row.refund_id as string | null,
    refundChannel: row.refund_channel as string | null,
    recvAccount: row.recv_account as string | null,
    successAt: maybeNumber(row.success_at),
    nextCheckAt: maybeNumber(row.next_check_at),
    checkAttempts: Number(row.check_attempts),
    leaseOwner: row.lease_owner as string | null,
    leaseUntil: maybeNumber(row.lease_until),
    lastError: row.last_error as string | null,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  });
}

/**
 * The refunds table and the refund columns of orders. Every change is conditional on the status
 * it was read with, and a change that moves money (a reservation, its release, the refunded total)
 * is written in the same transaction as the refund's own, so no interleaving of admin requests,
 * notifications and reconciler passes applies one twice.
 */
@Injectable()
export class RefundsStore {
  constructor(private readonly transactions: Transactions) {}

  async byNo(refundNo: string): Promise<RefundEntity | undefined> {
    const [row] = await this.transactions.read(BY_NO, [refundNo]);
    return row ? refundFromRow(row) : undefined;
  }

  async byId(id: number): Promise<RefundEntity> {
    const [row] = await this.transactions.read(BY_ID, [id]);
    if (!row) throw new Error(`refund ${id} vanished`);
    return refundFromRow(row);
  }

  async ofOrder(orderId: number): Promise<RefundEntity[]> {
    return (await this.transactions.read(OF_ORDER, [orderId])).map(refundFromRow);
  }

  /**
   * The reservation on the order and the PENDING refund row, in one transaction; undefined when
   * the order is not paid or the amount is more than remains (nothing is written then).
   */
  reserve(refund: NewRefund, now: number): Promise<RefundEntity | undefined> {
    return this.transactions.atomic(async (sql) => {
      const reserved = await sql.run(RESERVE, [refund.amountFen, now, refund.orderId]);
      if (reserved.affected !== 1) return undefined;
      const { rows } = await sql.run<{ id: unknown }>(INSERT, [
        refund.refundNo,
        refund.orderId,
        refund.orderNo,
        refund.totalFen,
        refund.amountFen,
        refund.reason,
        refund.nextCheckAt,
        now,
      ]);
      return Object.assign(new RefundEntity(), {
        ...refund,
        id: Number(rows[0].id),
        status: 'PENDING',
        refundId: null,
        refundChannel: null,
        recvAccount: null,
        successAt: null,
        checkAttempts: 0,
        leaseOwner: null,
        leaseUntil: null,
        lastError: null,
        createdAt: now,
        updatedAt: now,
      });
    });
  }

  /** PENDING → PROCESSING; false when the refund had already moved (a notification came first). */
  async accepted(refund: RefundEntity, refundId: string, nextCheckAt: number, now: number) {
    const result = await this.transactions.write(ACCEPTED, [refundId, nextCheckAt, now, refund.id]);
    return result.affected === 1;
  }

  /** Keeps the status and sets the next check; `leaseOwner` '' for a refund nobody leased. */
  async reschedule(
    refund: RefundEntity,
    nextCheckAt: number,
    lastError: string | null,
    leaseOwner: string,
    now: number,
  ): Promise<void> {
    await this.transactions.write(RESCHEDULE, [
      nextCheckAt,
      lastError?.slice(0, 255) ?? null,
      now,
      refund.id,
      refund.status,
      leaseOwner,
    ]);
  }

  /**
   * Moves an open refund to its final status with its effects, in one transaction: SUCCESS adds
   * to the order's refunded total, recomputes its status and writes the one fulfilment reversal;
   * CLOSED releases the reservation; CHANGE records a review for a person. False when the refund
   * was already final (a repeated notification, a refundquery racing one): nothing is written.
   */
  finish(refund: RefundEntity, final: RefundFinal, now: number): Promise<boolean> {
    return this.transactions.atomic(async (sql) => {
      const moved = await sql.run(FINISH, [
        final.status,
        final.refundId,
        final.successAt,
        final.refundChannel,
        final.recvAccount,
        final.status === 'SUCCESS' ? null : (final.detail?.slice(0, 255) ?? null),
        now,
        refund.id,
      ]);
      if (moved.affected !== 1) return false;
      await this.effects(sql, refund, final, now);
      return true;
    });
  }

  private async effects(sql: SqlRunner, refund: RefundEntity, final: RefundFinal, now: number) {
    if (final.status === 'SUCCESS') {
      const order = await sql.run(REFUNDED, [refund.amountFen, now, refund.orderId]);
      // The reservation keeps the refunded total within the amount: this cannot fail unless the
      // data was changed by hand, and then nothing of this refund is written.
      if (order.affected !== 1) {
        throw new Error(`order ${refund.orderNo} cannot take refund ${refund.refundNo}`);
      }
      await sql.run(REVERSAL, [refund.id, refund.orderId, refund.orderNo, refund.amountFen, now]);
    } else if (final.status === 'CLOSED') {
      await sql.run(RELEASE, [refund.amountFen, now, refund.orderId]);
    } else {
      const details = JSON.stringify({
        refundNo: refund.refundNo,
        refundId: final.refundId,
        recvAccount: final.recvAccount,
        detail: final.detail,
      });
      await sql.run(REVIEW, [
        now,
        refund.orderNo,
        final.refundId,
        refund.amountFen,
        refund.amountFen,
        details,
      ]);
    }
  }

  /**
   * Claims due refunds for one reconciler pass, like orders: a lease stamped in a short
   * transaction (FOR UPDATE SKIP LOCKED on PostgreSQL), the next check pushed to its end.
   */
  claim(owner: string, now: number, leaseUntil: number, limit: number): Promise<RefundEntity[]> {
    return this.transactions.atomic(async (sql) => {
      const due = this.transactions.isPostgres ? DUE_LOCKED : DUE;
      const { rows } = await sql.run<{ id: unknown }>(due, [now, limit]);
      for (const row of rows) await sql.run(LEASE, [owner, leaseUntil, Number(row.id)]);
      if (rows.length === 0) return [];
      return (await sql.run(LEASED, [owner])).rows.map(refundFromRow);
    });
  }
}
