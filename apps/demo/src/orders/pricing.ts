import { BadRequestException } from '@nestjs/common';
import type { ProductDto } from '../catalog/catalog.dto';
import { PRODUCT_NAME_MAX } from '../catalog/product.entity';

/** The most of one product an order may hold. */
export const MAX_QUANTITY = 99;
/** The largest order total this shop charges, in fen (20 million yuan). */
export const MAX_ORDER_FEN = 2_000_000_000;

export interface PricedLine {
  productId: number;
  name: string;
  unitPriceFen: number;
  quantity: number;
  lineTotalFen: number;
}

export interface PricedOrder {
  lines: PricedLine[];
  amountFen: number;
  /** unifiedorder's body: the first product's name, and how many products there are. */
  description: string;
}

/**
 * Prices the requested lines from the catalogue, never from the client: lines naming the same
 * product are merged, and each product must be active. Errors name the field as the client sent it.
 */
export function priceOrder(
  requested: ReadonlyArray<{ productId: number; quantity: number }>,
  products: ReadonlyMap<number, ProductDto>,
): PricedOrder {
  const quantities = new Map<number, number>();
  for (const line of requested) {
    quantities.set(line.productId, (quantities.get(line.productId) ?? 0) + line.quantity);
  }
  const lines = [...quantities].map(([productId, quantity], index): PricedLine => {
    const product = products.get(productId);
    if (!product) {
      throw new BadRequestException([
        `items.${index}.productId ${productId} is not an available product`,
      ]);
    }
    if (quantity > MAX_QUANTITY) {
      throw new BadRequestException([
        `items.${index}.quantity must not exceed ${MAX_QUANTITY} per product`,
      ]);
    }
    return {
      productId,
      name: product.name,
      unitPriceFen: product.priceFen,
      quantity,
      lineTotalFen: product.priceFen * quantity,
    };
  });
  const amountFen = lines.reduce((sum, line) => sum + line.lineTotalFen, 0);
  if (!Number.isSafeInteger(amountFen) || amountFen <= 0 || amountFen > MAX_ORDER_FEN) {
    throw new BadRequestException(['items add up to an amount this shop cannot charge']);
  }
  // A name cut to its column's length keeps the body far inside WeChat's 127 characters.
  const first = [...lines[0].name].slice(0, PRODUCT_NAME_MAX).join('');
  const more = lines.length > 1 ? ` 等${lines.length}件商品` : '';
  return { lines, amountFen, description: first + more };
}
