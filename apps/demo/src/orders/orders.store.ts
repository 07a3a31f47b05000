import { Injectable, NotFoundException } from '@nestjs/common';
import { Statement, type SqlValue } from '../database/statement';
import { Transactions } from '../database/transactions';
import type { RefundSummary } from './order-view';
import type { PricedLine } from './pricing';
import { ORDER_COLUMNS, orderFromRow, type OrderEntity } from './order.entity';

const OWN_ORDER = new Statement(
  `SELECT ${ORDER_COLUMNS} FROM orders WHERE order_no = $1 AND user_id = $2`,
);
const ORDER_BY_ID = new Statement(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1`);
const ITEMS = new Statement(
  'SELECT product_id, name, unit_price_fen, quantity, line_total_fen FROM order_items ' +
    'WHERE order_id = $1 ORDER BY id',
);
const PAGE = new Statement(
  `SELECT ${ORDER_COLUMNS} FROM orders WHERE user_id = $1 ` +
    'ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3',
);
const REFUNDS = new Statement(
  'SELECT amount_fen, status, created_at, success_at FROM refunds WHERE order_id = $1 ORDER BY id',
);
const COUNT = new Statement('SELECT COUNT(*) AS n FROM orders WHERE user_id = $1');
const RECORD_ERROR = new Statement(
  'UPDATE orders SET last_error = $1, updated_at = $2 WHERE id = $3',
);

/** A new order's row, as checkout writes it (the id comes from the database). */
export type NewOrder = Omit<OrderEntity, 'id'>;

/**
 * The orders and order_items tables, through prepared statements. Status changes are conditional
 * (`WHERE status = 'UNPAID'`): each resolves whether it moved the order.
 */
@Injectable()
export class OrdersStore {
  constructor(private readonly transactions: Transactions) {}

  /** The user's order: another user's answers exactly like a missing one (404). */
  async own(orderNo: string, userId: number): Promise<OrderEntity> {
    const [row] = await this.transactions.read(OWN_ORDER, [orderNo, userId]);
    if (!row) throw new NotFoundException(`order ${orderNo} not found`);
    return orderFromRow(row);
  }

  async findById(id: number): Promise<OrderEntity> {
    const [row] = await this.transactions.read(ORDER_BY_ID, [id]);
    if (!row) throw new Error(`order ${id} vanished`);
    return orderFromRow(row);
  }

  async items(orderId: number): Promise<PricedLine[]> {
    const rows = await this.transactions.read(ITEMS, [orderId]);
    return rows.map((row) => ({
      productId: Number(row.product_id),
      name: row.name as string,
      unitPriceFen: Number(row.unit_price_fen),
      quantity: Number(row.quantity),
      lineTotalFen: Number(row.line_total_fen),
    }));
  }

  /** The order's refunds, oldest first. */
  async refunds(orderId: number): Promise<RefundSummary[]> {
    const rows = await this.transactions.read(REFUNDS, [orderId]);
    return rows.map((row) => ({
      amountFen: Number(row.amount_fen),
      status: row.status as string,
      createdAt: Number(row.created_at),
      successAt: row.success_at === null ? null : Number(row.success_at),
    }));
  }

  async page(
    userId: number,
    page: number,
    pageSize: number,
  ): Promise<{ orders: OrderEntity[]; total: number }> {
    const [rows, [count]] = await Promise.all([
      this.transactions.read(PAGE, [userId, pageSize, (page - 1) * pageSize]),
      this.transactions.read(COUNT, [userId]),
    ]);
    return { orders: rows.map(orderFromRow), total: Number(count.n) };
  }

  /** PLACED: the order and its lines, in one unit. */
  async place(order: NewOrder, lines: readonly PricedLine[]): Promise<OrderEntity> {
    const id = await this.transactions.insertTree(
      { table: 'orders', values: orderValues(order) },
      {
        table: 'order_items',
        parentColumn: 'order_id',
        rows: lines.map((line) => ({
          product_id: line.productId,
          name: line.name,
          unit_price_fen: line.unitPriceFen,
          quantity: line.quantity,
          line_total_fen: line.lineTotalFen,
        })),
      },
    );
    return Object.assign({ id }, order);
  }

  /** PREPAY_OBTAINED, for an order still unpaid. */
  savePrepay(orderId: number, prepayId: string, prepayExpiresAt: number, now: number) {
    return this.transactions.writeIf(
      {
        table: 'orders',
        where: { id: orderId, status: 'UNPAID' },
        set: {
          prepay_id: prepayId,
          prepay_expires_at: prepayExpiresAt,
          last_error: null,
          updated_at: now,
        },
      },
      [],
    );
  }

  /** CLOSE_REQUESTED: the first request's time is kept; the next check moves to `nextCheckAt`. */
  rememberCancel(order: OrderEntity, nextCheckAt: number, now: number) {
    return this.transactions.writeIf(
      {
        table: 'orders',
        where: { id: order.id, status: 'UNPAID' },
        set: {
          cancel_requested_at: order.cancelRequestedAt ?? now,
          next_check_at: nextCheckAt,
          updated_at: now,
        },
      },
      [],
    );
  }

  async recordError(orderId: number, error: string, now: number): Promise<void> {
    await this.transactions.write(RECORD_ERROR, [error.slice(0, 255), now, orderId]);
  }
}

function orderValues(order: NewOrder): Record<string, SqlValue> {
  return {
    order_no: order.orderNo,
    user_id: order.userId,
    openid: order.openid,
    app_id: order.appId,
    mch_id: order.mchId,
    amount_fen: order.amountFen,
    description: order.description,
    status: order.status,
    sign_type: order.signType,
    notify_url: order.notifyUrl,
    time_expire: order.timeExpire,
    expires_at: order.expiresAt,
    prepay_id: order.prepayId,
    prepay_expires_at: order.prepayExpiresAt,
    transaction_id: order.transactionId,
    paid_at: order.paidAt,
    paid_via: order.paidVia,
    closed_at: order.closedAt,
    cancel_requested_at: order.cancelRequestedAt,
    next_check_at: order.nextCheckAt,
    check_attempts: order.checkAttempts,
    lease_owner: order.leaseOwner,
    lease_until: order.leaseUntil,
    refund_reserved_fen: order.refundReservedFen,
    refunded_fen: order.refundedFen,
    last_error: order.lastError,
    created_at: order.createdAt,
    updated_at: order.updatedAt,
  };
}
