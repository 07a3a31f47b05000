import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { Clock } from '../clock';
import { DEMO_CONFIG, type DemoConfig } from '../config/demo.config';
import { Statement } from '../database/statement';
import { Transactions } from '../database/transactions';
import { isPaid } from '../orders/order-machine';
import { ORDER_COLUMNS, orderFromRow, type OrderEntity } from '../orders/order.entity';
import type { RefundEntity } from './refund.entity';
import { newRefundNo } from './refund-no';
import { RefundSyncService } from './refund-sync.service';
import type { AdminOrderRefundsDto, AdminRefundDto, RefundCreatedDto } from './refunds.dto';
import { RefundsStore } from './refunds.store';

const ORDER_BY_NO = new Statement(`SELECT ${ORDER_COLUMNS} FROM orders WHERE order_no = $1`);

/** Time a refund's first send may take before the reconciler may send it again. */
const FIRST_SEND_MARGIN_MS = 5_000;

/** The admin's refunds: written before WeChat hears of them, then sent once. */
@Injectable()
export class RefundsService {
  constructor(
    private readonly store: RefundsStore,
    private readonly sync: RefundSyncService,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
  ) {}

  /**
   * Reserves the amount and writes the PENDING refund in one transaction (the database decides
   * whether it fits, however many requests race), then asks WeChat. Whatever happens to that call,
   * the row exists: a crash or a lost answer leaves it PENDING and the reconciler sends it again
   * with the same number once `next_check_at` passes.
   */
  async create(orderNo: string, amountFen: number, reason?: string): Promise<RefundCreatedDto> {
    const order = await this.order(orderNo);
    if (!isPaid(order.status)) throw new ConflictException(`order ${orderNo} is not paid`);
    const now = this.clock.now();
    const { connectTimeoutMs, readTimeoutMs } = this.config.wechat;
    const refund = await this.store.reserve(
      {
        refundNo: newRefundNo(now),
        orderId: order.id,
        orderNo: order.orderNo,
        totalFen: order.amountFen,
        amountFen,
        reason: reason ?? null,
        nextCheckAt: now + connectTimeoutMs + readTimeoutMs + FIRST_SEND_MARGIN_MS,
      },
      now,
    );
    if (!refund) {
      const current = await this.order(orderNo);
      if (!isPaid(current.status)) throw new ConflictException(`order ${orderNo} is not paid`);
      const remaining = current.amountFen - current.refundReservedFen;
      throw new ConflictException(
        `a refund of ${amountFen} fen exceeds the ${remaining} fen of order ${orderNo} not yet refunded`,
      );
    }
    const standing = await this.sync.send(refund, '');
    return {
      refundNo: refund.refundNo,
      status: standing.status,
      amountFen: refund.amountFen,
      ...(standing.error !== undefined ? { error: standing.error } : {}),
    };
  }

  async list(orderNo: string): Promise<AdminOrderRefundsDto> {
    const order = await this.order(orderNo);
    const refunds = await this.store.ofOrder(order.id);
    return {
      orderNo: order.orderNo,
      orderStatus: order.status,
      amountFen: order.amountFen,
      reservedFen: order.refundReservedFen,
      refundedFen: order.refundedFen,
      refunds: refunds.map(adminView),
    };
  }

  private async order(orderNo: string): Promise<OrderEntity> {
    const [row] = await this.transactions.read(ORDER_BY_NO, [orderNo]);
    if (!row) throw new NotFoundException(`order ${orderNo} not found`);
    return orderFromRow(row);
  }
}

function adminView(refund: RefundEntity): AdminRefundDto {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    refundNo: refund.refundNo,
    status: refund.status,
    amountFen: refund.amountFen,
    ...(refund.reason !== null ? { reason: refund.reason } : {}),
    ...(refund.refundId !== null ? { refundId: refund.refundId } : {}),
    ...(refund.recvAccount !== null ? { recvAccount: refund.recvAccount } : {}),
    createdAt: iso(refund.createdAt),
    ...(refund.successAt !== null ? { successAt: iso(refund.successAt) } : {}),
    ...(refund.lastError !== null ? { lastError: refund.lastError } : {}),
  };
}
