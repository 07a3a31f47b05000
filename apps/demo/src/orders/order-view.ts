import type { OrderEntity } from './order.entity';
import type { OrderDto } from './orders.dto';
import type { PricedLine } from './pricing';

/** What the API shows of an order: amounts in fen, times in ISO 8601. */
export function orderView(order: OrderEntity, lines: readonly PricedLine[]): OrderDto {
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
  };
}
