import Database from 'better-sqlite3';
import { Client } from 'pg';
import { Statement } from '../../apps/demo/src/database/statement';
import { Transactions } from '../../apps/demo/src/database/transactions';
import { OrderItemEntity } from '../../apps/demo/src/orders/order-item.entity';
import {
  ORDER_COLUMNS,
  orderColumn,
  OrderEntity,
  orderFromRow,
} from '../../apps/demo/src/orders/order.entity';
import { FulfilmentEntity } from '../../apps/demo/src/payments/fulfilment.entity';
import { PaymentReviewEntity } from '../../apps/demo/src/payments/payment-review.entity';
import { DemoHarness, isPostgres, type Shopper } from './harness';

const ORDER_BY_NO = new Statement(`SELECT ${ORDER_COLUMNS} FROM orders WHERE order_no = $1`);
/** A unique index refused the row (matched by code: the SQLite error class may be another realm's). */
const DUPLICATE = { code: isPostgres ? '23505' : 'SQLITE_CONSTRAINT_UNIQUE' };

describe(`demo prepared statements on ${isPostgres ? 'PostgreSQL' : 'SQLite'}`, () => {
  let harness: DemoHarness;
  let shopper: Shopper;
  let transactions: Transactions;

  beforeAll(async () => {
    harness = await DemoHarness.start();
    shopper = await harness.login();
    transactions = harness.get(Transactions);
  });

  afterEach(() => jest.restoreAllMocks());

  afterAll(() => harness?.close());

  async function readOrder(orderNo: string): Promise<OrderEntity> {
    const [row] = await transactions.read(ORDER_BY_NO, [orderNo]);
    return orderFromRow(row);
  }

  function paidUpdate(order: OrderEntity, status: string) {
    return {
      table: 'orders',
      where: { id: order.id, status },
      set: {
        status: 'PAID',
        transaction_id: `42${String(order.id).padStart(26, '0')}`,
        paid_at: 1,
      },
    };
  }

  function fulfilment(order: OrderEntity) {
    return {
      table: 'fulfilments',
      values: { order_id: order.id, order_no: order.orderNo, source: 'query', created_at: 1 },
    };
  }

  it('name every order column as the entity does', () => {
    const columns = harness.dataSource.getMetadata(OrderEntity).columns;
    expect(ORDER_COLUMNS.split(', ')).toEqual(columns.map((c) => c.databaseName));
    for (const column of columns) {
      expect(orderColumn(column.propertyName as keyof OrderEntity)).toBe(column.databaseName);
    }
  });

  it('read an order exactly as the entity and its column transformers do', async () => {
    const checkout = await harness.placeOrder(shopper, [{ productId: 2, quantity: 3 }]);
    harness.payAtWechat(shopper, checkout.payParams);
    const paid = await harness.waitForStatus(checkout.orderNo, 'PAID');

    const read = await readOrder(checkout.orderNo);

    expect(read).toEqual(paid);
    expect(read).toBeInstanceOf(OrderEntity);
    expect(typeof read.paidAt).toBe('number');
    expect(typeof read.amountFen).toBe('number');
  });

  it('write the order and its items together, or neither', async () => {
    const checkout = await harness.placeOrder(shopper, [
      { productId: 1, quantity: 1 },
      { productId: 3, quantity: 2 },
    ]);
    const order = await readOrder(checkout.orderNo);
    const items = await harness.dataSource
      .getRepository(OrderItemEntity)
      .find({ where: { orderId: order.id }, order: { id: 'ASC' } });
    expect(items.map((i) => [i.productId, i.quantity, i.lineTotalFen])).toEqual([
      [1, 1, 6800],
      [3, 2, 9000],
    ]);

    const restore = await harness.failWrites('order_items', 'INSERT', 'NEW.quantity = 7');
    try {
      const res = await harness
        .http()
        .post('/api/orders')
        .set(shopper.auth)
        .send({
          items: [
            { productId: 1, quantity: 1 },
            { productId: 2, quantity: 7 },
          ],
        });
      expect(res.status).not.toBe(201);
    } finally {
      await restore();
    }
    const orders = await harness.dataSource
      .getRepository(OrderEntity)
      .count({ where: { amountFen: 6800 + 7 * 1990 } });
    expect(orders).toBe(0);
  });

  it('move a row only from the status that was read, and write what goes with it only then', async () => {
    const order = await readOrder((await harness.placeOrder(shopper)).orderNo);

    expect(await transactions.writeIf(paidUpdate(order, 'CLOSED'), [fulfilment(order)])).toBe(
      false,
    );
    expect((await readOrder(order.orderNo)).status).toBe('UNPAID');
    expect(await harness.fulfilments(order.orderNo)).toEqual([]);

    expect(await transactions.writeIf(paidUpdate(order, 'UNPAID'), [fulfilment(order)])).toBe(true);
    expect((await readOrder(order.orderNo)).status).toBe('PAID');
    expect(await harness.fulfilments(order.orderNo)).toHaveLength(1);

    expect(await transactions.writeIf(paidUpdate(order, 'UNPAID'), [fulfilment(order)])).toBe(
      false,
    );
    expect(await harness.fulfilments(order.orderNo)).toHaveLength(1);
  });

  it('write nothing of the unit when one of its rows cannot be written', async () => {
    const order = await readOrder((await harness.placeOrder(shopper)).orderNo);
    await harness.dataSource
      .getRepository(FulfilmentEntity)
      .insert({ orderId: order.id, orderNo: order.orderNo, source: 'query', createdAt: 1 });

    await expect(
      transactions.writeIf(paidUpdate(order, 'UNPAID'), [fulfilment(order)]),
    ).rejects.toMatchObject(DUPLICATE);

    expect((await readOrder(order.orderNo)).status).toBe('UNPAID');
  });

  it('skip a row a unique index already holds when asked to, and only then', async () => {
    const review = {
      table: 'payment_reviews',
      values: {
        created_at: 1,
        order_no: 'STATEMENTS-REVIEW',
        transaction_id: '4200000000000000000000000001',
        kind: 'AMOUNT_MISMATCH',
        expected_fen: 2 ** 40,
        reported_fen: null,
        details: '{}',
      },
    };
    expect(await transactions.writeIf(undefined, [{ ...review, ignoreDuplicate: true }])).toBe(
      true,
    );
    expect(await transactions.writeIf(undefined, [{ ...review, ignoreDuplicate: true }])).toBe(
      true,
    );
    await expect(transactions.writeIf(undefined, [review])).rejects.toMatchObject(DUPLICATE);
    const rows = await harness.dataSource
      .getRepository(PaymentReviewEntity)
      .findBy({ orderNo: 'STATEMENTS-REVIEW' });
    expect(rows).toEqual([expect.objectContaining({ expectedFen: 2 ** 40, reportedFen: null })]);
  });

  it('send values as bound parameters, so each statement is prepared once and reused', async () => {
    const checkout = await harness.placeOrder(shopper);
    const texts: string[] = [];
    if (isPostgres) {
      const query = jest.spyOn(Client.prototype, 'query');
      for (let i = 0; i < 5; i++) await readOrder(checkout.orderNo);
      for (const [config] of query.mock.calls) {
        const { name, text } = config as unknown as { name?: string; text?: string };
        expect(name).toBe(ORDER_BY_NO.name);
        texts.push(text as string);
      }
    } else {
      const prepare = jest.spyOn(Database.prototype, 'prepare');
      await readOrder(checkout.orderNo);
      prepare.mockClear();
      for (let i = 0; i < 5; i++) await readOrder(checkout.orderNo);
      expect(prepare).not.toHaveBeenCalled();
      texts.push(ORDER_BY_NO.sqliteText);
    }
    expect(texts.length).toBeGreaterThan(0);
    for (const text of texts) expect(text).not.toContain(checkout.orderNo);
  });
});
