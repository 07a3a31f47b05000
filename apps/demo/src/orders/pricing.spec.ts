import { BadRequestException } from '@nestjs/common';
import type { ProductDto } from '../catalog/catalog.dto';
import { MAX_ORDER_FEN, priceOrder } from './pricing';

const catalogue = new Map<number, ProductDto>([
  [1, { id: 1, name: '招牌奶茶', priceFen: 1990 }],
  [2, { id: 2, name: 'Cheesecake', priceFen: 6800 }],
]);

function messages(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof BadRequestException) {
      return (error.getResponse() as { message: string[] }).message;
    }
    throw error;
  }
  throw new Error('expected a BadRequestException');
}

describe('priceOrder', () => {
  it('prices lines from the catalogue and merges lines naming the same product', () => {
    const priced = priceOrder(
      [
        { productId: 1, quantity: 2 },
        { productId: 2, quantity: 1 },
        { productId: 1, quantity: 1 },
      ],
      catalogue,
    );
    expect(priced.lines).toEqual([
      { productId: 1, name: '招牌奶茶', unitPriceFen: 1990, quantity: 3, lineTotalFen: 5970 },
      { productId: 2, name: 'Cheesecake', unitPriceFen: 6800, quantity: 1, lineTotalFen: 6800 },
    ]);
    expect(priced.amountFen).toBe(12_770);
    expect(priced.description).toBe('招牌奶茶 等2件商品');
  });

  it('describes a single product by its name alone', () => {
    expect(priceOrder([{ productId: 2, quantity: 4 }], catalogue).description).toBe('Cheesecake');
  });

  it('names the line of a product that is not in the catalogue', () => {
    expect(
      messages(() =>
        priceOrder(
          [
            { productId: 1, quantity: 1 },
            { productId: 7, quantity: 1 },
          ],
          catalogue,
        ),
      ),
    ).toEqual(['items.1.productId 7 is not an available product']);
  });

  it('refuses more than 99 of one product, counted across lines', () => {
    expect(
      messages(() =>
        priceOrder(
          [
            { productId: 1, quantity: 60 },
            { productId: 1, quantity: 40 },
          ],
          catalogue,
        ),
      ),
    ).toEqual(['items.0.quantity must not exceed 99 per product']);
  });

  it('refuses a total above what the shop charges', () => {
    const dear = new Map([[9, { id: 9, name: 'Yacht', priceFen: MAX_ORDER_FEN / 50 + 1 }]]);
    expect(messages(() => priceOrder([{ productId: 9, quantity: 50 }], dear))).toEqual([
      'items add up to an amount this shop cannot charge',
    ]);
    expect(priceOrder([{ productId: 9, quantity: 49 }], dear).amountFen).toBe(
      49 * (MAX_ORDER_FEN / 50 + 1),
    );
  });

  it('keeps the description within WeChat’s body limit whatever a name’s length', () => {
    const long = new Map([[3, { id: 3, name: '长'.repeat(500), priceFen: 100 }]]);
    const priced = priceOrder(
      [
        { productId: 3, quantity: 1 },
        { productId: 1, quantity: 1 },
      ],
      new Map([...long, ...catalogue]),
    );
    expect([...priced.description].length).toBeLessThanOrEqual(127);
    expect(priced.description.endsWith(' 等2件商品')).toBe(true);
  });
});
