import { isPaid } from './order-machine';
import type { OrderEntity } from './order.entity';
import type { OrderDto, OrderRefundDto } from './orders.dto';
import type { PricedLine } from './pricing';

/** What the buyer sees of one refund. */
export interface RefundSummary {
  amountFen: number;
  status: string;
  createdAt: number;
  successAt: number | null;
}

/**
 * What the API shows of an order: amounts in fen, times in ISO 8601. A paid order shows what was
 * refunded, and its refunds when they were read (the single-order view reads them; the list does
 * not).
 */
export function orderView(
  order: OrderEntity,
  lines: readonly PricedLine[],
  refunds?: readonly RefundSummary[],
): OrderDto {
  return {
    orderNo: order.orderNo,
    amount: order.amountFen,
    status: order.status,
    description: order.description,
    createdAt: new Date(order.createdAt).toISOString(),
    expiresAt: new Date(order.expiresAt).toISOString(),
    ...(order.paidAt !== null ? { paidAt: new Date(order.paidAt).toISOString() } : {}),
    ...(order.cancelRequestedAt !== null && order.status === 'UNPAID'
      ? { cancelRequested: true }
      : {}),
    items: lines.map(({ productId, name, unitPriceFen, quantity, lineTotalFen }) => ({
      productId,
      name,
      unitPriceFen,
      quantity,
      lineTotalFen,
    })),
    ...(isPaid(order.status) ? { refundedFen: order.refundedFen } : {}),
    ...(refunds !== undefined && isPaid(order.status) ? { refunds: refunds.map(refundView) } : {}),
  };
}

function refundView(refund: RefundSummary): OrderRefundDto {
  return {
    amountFen: refund.amountFen,
    status: refund.status,
    createdAt: new Date(refund.createdAt).toISOString(),
    ...(refund.successAt !== null ? { successAt: new Date(refund.successAt).toISOString() } : {}),
  };
}
