/**
 * @jest-environment jsdom
 */
import type { ProductDto } from '../../apps/demo/src/catalog/catalog.dto';
import type { ApiErrorBody } from '../../apps/demo/src/common/api-exception.filter';
import type { CheckoutDto, OrderDto, OrderPageDto } from '../../apps/demo/src/orders/orders.dto';
import { RenderedMiniProgram, type RenderedPage } from './render';

/**
 * What the user sees on each page, rendered from the page's WXML by miniprogram-simulate. The
 * shop's answers are written here in the demo's own response types; the same flows against the
 * real shop and simulator run in shop.e2e-spec.ts.
 */

const PAY_PARAMS = {
  timeStamp: '1700000000',
  nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
  package: 'prepay_id=wx201410272009395522657a690389285100',
  signType: 'HMAC-SHA256',
  paySign: '6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6',
};

const BEANS = { productId: 1, name: '云南小粒咖啡豆 250g', unitPriceFen: 6800 };
const FILTERS = { productId: 2, name: '手冲滤纸 100 张', unitPriceFen: 1990 };

function order(orderNo: string, overrides: Partial<OrderDto> = {}): OrderDto {
  return {
    orderNo,
    amount: 2 * BEANS.unitPriceFen + FILTERS.unitPriceFen,
    status: 'UNPAID',
    description: `${BEANS.name} 等 2 件`,
    createdAt: '2025-01-31T16:05:00.000Z',
    expiresAt: '2025-01-31T18:05:00.000Z',
    items: [
      { ...BEANS, quantity: 2, lineTotalFen: 2 * BEANS.unitPriceFen },
      { ...FILTERS, quantity: 1, lineTotalFen: FILTERS.unitPriceFen },
    ],
    ...overrides,
  };
}

function checkout(orderNo: string, overrides: Partial<OrderDto> = {}): CheckoutDto {
  return { ...order(orderNo, overrides), payParams: { ...PAY_PARAMS } };
}

/** The 503 the shop answers when it placed the order but WeChat could not prepare its payment. */
function paymentNotReady(orderNo: string): ApiErrorBody {
  return {
    statusCode: 503,
    error: 'SYSTEMERROR',
    message: 'the payment service is temporarily unavailable (系统繁忙); retry later',
    retryable: true,
    orderNo,
    retryPath: `/api/orders/${orderNo}/pay`,
  };
}

/** The order page's amount rows, label and amount each, top to bottom. */
function amountRows(page: RenderedPage): string[][] {
  return page.rows('.amount');
}

/** The one payment button, as the user finds it: its text, and whether it takes a tap. */
function payButton(page: RenderedPage): { text: string; disabled: unknown; loading: unknown } {
  const button = page.one('.pay');
  return {
    text: (button.dom.textContent ?? '').trim(),
    disabled: page.attribute(button, 'disabled'),
    loading: page.attribute(button, 'loading'),
  };
}

describe('the mini-program pages rendered by miniprogram-simulate', () => {
  let mp: RenderedMiniProgram;

  beforeEach(() => {
    mp = RenderedMiniProgram.launch();
  });

  afterEach(() => {
    mp.close();
  });

  describe('the shop page', () => {
    it('lists each product with its price in yuan formatted from integer fen', async () => {
      const products: ProductDto[] = [
        { id: 1, name: BEANS.name, priceFen: 6800 },
        { id: 2, name: FILTERS.name, priceFen: 1990 },
        { id: 5, name: '试饮装（1 分钱测试商品）', priceFen: 1 },
        { id: 6, name: '整箱咖啡豆', priceFen: 123456789 },
      ];
      mp.reply('GET', '/api/products', 200, products);
      const shop = mp.open('/pages/index/index');
      await shop.waitFor(() => shop.all('.product').length > 0, 'the products to show');

      expect(shop.texts('.name')).toEqual([
        BEANS.name,
        FILTERS.name,
        '试饮装（1 分钱测试商品）',
        '整箱咖啡豆',
      ]);
      expect(shop.texts('.price')).toEqual(['¥68.00', '¥19.90', '¥0.01', '¥1234567.89']);
      expect(shop.texts('.buy')).toEqual(['购买', '购买', '购买', '购买']);
      expect(shop.text).not.toContain('加载中');
      expect(mp.errors).toEqual([]);
    });

    it('shows why the catalogue is missing and a retry button, then the products after the retry', async () => {
      mp.replyWith('GET', '/api/products', 'unreachable', {
        statusCode: 200,
        body: [{ id: 2, name: FILTERS.name, priceFen: 1990 }],
      });
      const shop = mp.open('/pages/index/index');
      await shop.waitForText('无法连接商店服务器，请检查网络后重试');
      expect(shop.texts('.retry')).toEqual(['重试']);
      expect(shop.all('.product')).toEqual([]);

      shop.tap('.retry');
      await shop.waitFor(() => shop.all('.product').length === 1, 'the product to show');
      expect(shop.texts('.price')).toEqual(['¥19.90']);
      expect(shop.all('.retry')).toEqual([]);
      expect(mp.errors).toEqual([]);
    });

    it('after the checkout and its retry both fail, opens the order with 再次支付, which then pays it', async () => {
      mp.reply('GET', '/api/products', 200, [{ id: 1, name: BEANS.name, priceFen: 6800 }]);
      mp.reply('POST', '/api/orders', 503, paymentNotReady('ORDER_0042'));
      mp.replyWith(
        'POST',
        '/api/orders/ORDER_0042/pay',
        { statusCode: 503, body: paymentNotReady('ORDER_0042') },
        { statusCode: 200, body: checkout('ORDER_0042') },
      );
      mp.replyWith(
        'GET',
        '/api/orders/ORDER_0042',
        { statusCode: 200, body: order('ORDER_0042') },
        { statusCode: 200, body: order('ORDER_0042') },
        {
          statusCode: 200,
          body: order('ORDER_0042', { status: 'PAID', paidAt: '2025-01-31T16:06:00.000Z' }),
        },
      );
      const shop = mp.open('/pages/index/index');
      await shop.waitFor(() => shop.all('.buy').length === 1, 'the product to show');

      shop.tap('.buy');
      await shop.waitFor(() => mp.navigations.length > 0, 'the order page to be opened');
      expect(mp.requestsTo('POST', '/api/orders')[0].data).toEqual({
        items: [{ productId: 1, quantity: 1 }],
      });
      expect(mp.modals).toEqual([]);
      expect(mp.navigations).toEqual([
        { kind: 'navigateTo', url: '/pages/order/order?orderNo=ORDER_0042' },
      ]);

      const page = mp.open(mp.navigations[0].url);
      await page.waitFor(() => page.all('.pay').length === 1, 'the order to show');
      expect(page.texts('.message')).toEqual([
        '订单已保留，但暂时无法发起支付，请稍后点“再次支付”',
      ]);
      expect(payButton(page)).toEqual({ text: '再次支付', disabled: false, loading: false });
      expect(page.texts('.status')).toEqual(['待支付']);
      expect(amountRows(page)).toEqual([['合计', '¥155.90']]);
      expect(mp.payments).toEqual([]);

      page.tap('.pay');
      await page.waitFor(() => mp.payments.length === 1, 'the payment sheet to open');
      expect(mp.payments[0]).toStrictEqual(PAY_PARAMS);
      expect(payButton(page)).toEqual({ text: '支付中', disabled: true, loading: true });

      mp.answerPayment('requestPayment:ok');
      await page.waitForText('支付成功');
      expect(page.texts('.status')).toEqual(['已支付']);
      expect(page.all('.pay')).toEqual([]);
      expect(amountRows(page)).toEqual([['合计', '¥155.90']]);
      expect(mp.errors).toEqual([]);
    });

    it('reports 下单失败 in a dialog and stays on the shop when the shop refuses the order', async () => {
      mp.reply('GET', '/api/products', 200, [{ id: 1, name: BEANS.name, priceFen: 6800 }]);
      mp.reply('POST', '/api/orders', 400, {
        statusCode: 400,
        error: 'Bad Request',
        message: 'product 1 is not for sale',
        retryable: false,
      } satisfies ApiErrorBody);
      const shop = mp.open('/pages/index/index');
      await shop.waitFor(() => shop.all('.buy').length === 1, 'the product to show');

      shop.tap('.buy');
      await shop.waitFor(() => mp.modals.length > 0, 'the dialog');
      expect(mp.modals).toEqual([
        expect.objectContaining({ title: '下单失败', content: 'product 1 is not for sale' }),
      ]);
      expect(mp.navigations).toEqual([]);
      expect(shop.attribute(shop.one('.buy'), 'disabled')).toBe(false);
      expect(mp.errors).toEqual([]);
    });
  });

  describe('the order page', () => {
    it('shows an unpaid order: number, status, each line and the total in yuan from fen', async () => {
      mp.reply('GET', '/api/orders/ORDER_0001', 200, order('ORDER_0001'));
      const page = mp.open('/pages/order/order?orderNo=ORDER_0001');
      await page.waitFor(() => page.all('.pay').length === 1, 'the order to show');

      expect(page.texts('.order-no')).toEqual(['订单号 ORDER_0001']);
      expect(page.texts('.status')).toEqual(['待支付']);
      expect(page.rows('.line')).toEqual([
        [`${BEANS.name} × 2`, '¥136.00'],
        [`${FILTERS.name} × 1`, '¥19.90'],
      ]);
      expect(amountRows(page)).toEqual([['合计', '¥155.90']]);
      expect(payButton(page)).toEqual({ text: '支付', disabled: false, loading: false });
      expect(page.texts('.refresh')).toEqual(['刷新订单状态']);
      expect(page.text).not.toContain('加载中');
      expect(mp.errors).toEqual([]);
    });

    it('shows one fen as ¥0.01 and keeps every digit of a large total', async () => {
      mp.reply(
        'GET',
        '/api/orders/ORDER_0002',
        200,
        order('ORDER_0002', {
          amount: 1,
          items: [{ productId: 5, name: '试饮装', unitPriceFen: 1, quantity: 1, lineTotalFen: 1 }],
        }),
      );
      mp.reply(
        'GET',
        '/api/orders/ORDER_0003',
        200,
        order('ORDER_0003', {
          amount: 9_999_999_999,
          items: [
            {
              productId: 6,
              name: '整箱',
              unitPriceFen: 101_010_101,
              quantity: 99,
              lineTotalFen: 9_999_999_999,
            },
          ],
        }),
      );
      const small = mp.open('/pages/order/order?orderNo=ORDER_0002');
      const large = mp.open('/pages/order/order?orderNo=ORDER_0003');
      await small.waitFor(() => small.all('.amount').length === 1, 'the order to show');
      await large.waitFor(() => large.all('.amount').length === 1, 'the order to show');

      expect(small.rows('.line')).toEqual([['试饮装 × 1', '¥0.01']]);
      expect(amountRows(small)).toEqual([['合计', '¥0.01']]);
      expect(large.rows('.line')).toEqual([['整箱 × 99', '¥99999999.99']]);
      expect(amountRows(large)).toEqual([['合计', '¥99999999.99']]);
      expect(mp.errors).toEqual([]);
    });

    it('shows a paid order without a pay button', async () => {
      mp.reply(
        'GET',
        '/api/orders/ORDER_0004',
        200,
        order('ORDER_0004', { status: 'PAID', paidAt: '2025-01-31T16:06:00.000Z' }),
      );
      const page = mp.open('/pages/order/order?orderNo=ORDER_0004');
      await page.waitFor(() => page.all('.status').length === 1, 'the order to show');

      expect(page.texts('.status')).toEqual(['已支付']);
      expect(page.all('.pay')).toEqual([]);
      expect(amountRows(page)).toEqual([['合计', '¥155.90']]);
      expect(mp.errors).toEqual([]);
    });

    it('shows a closed order as 已关闭, without a pay button', async () => {
      mp.reply('GET', '/api/orders/ORDER_0005', 200, order('ORDER_0005', { status: 'CLOSED' }));
      const page = mp.open('/pages/order/order?orderNo=ORDER_0005');
      await page.waitFor(() => page.all('.status').length === 1, 'the order to show');

      expect(page.texts('.status')).toEqual(['已关闭']);
      expect(page.all('.pay')).toEqual([]);
      expect(mp.errors).toEqual([]);
    });

    it('shows a partly refunded order: the refunded amount and each refund with its state', async () => {
      mp.reply(
        'GET',
        '/api/orders/ORDER_0010',
        200,
        order('ORDER_0010', {
          status: 'PARTIALLY_REFUNDED',
          paidAt: '2025-01-31T16:06:00.000Z',
          refundedFen: 6800,
          refunds: [
            {
              amountFen: 6800,
              status: 'SUCCESS',
              createdAt: '2025-02-01T08:00:00.000Z',
              successAt: '2025-02-01T08:00:05.000Z',
            },
            { amountFen: 1990, status: 'PENDING', createdAt: '2025-02-01T09:00:00.000Z' },
            { amountFen: 500, status: 'PROCESSING', createdAt: '2025-02-01T09:10:00.000Z' },
            { amountFen: 300, status: 'CLOSED', createdAt: '2025-02-01T09:20:00.000Z' },
            { amountFen: 1, status: 'CHANGE', createdAt: '2025-02-01T09:30:00.000Z' },
          ],
        }),
      );
      const page = mp.open('/pages/order/order?orderNo=ORDER_0010');
      await page.waitFor(() => page.all('.status').length === 1, 'the order to show');

      expect(page.texts('.status')).toEqual(['部分退款']);
      expect(page.all('.pay')).toEqual([]);
      expect(amountRows(page)).toEqual([
        ['合计', '¥155.90'],
        ['已退款', '¥68.00'],
      ]);
      expect(page.texts('.refunds-title')).toEqual(['退款记录']);
      expect(page.rows('.refund')).toEqual([
        ['退款成功', '¥68.00'],
        ['退款处理中', '¥19.90'],
        ['退款处理中', '¥5.00'],
        ['退款关闭', '¥3.00'],
        ['退款异常，商家处理中', '¥0.01'],
      ]);
      expect(mp.errors).toEqual([]);
    });

    it('shows a fully refunded order as 已退款, and a paid order without refunds shows no refund rows', async () => {
      mp.reply(
        'GET',
        '/api/orders/ORDER_0011',
        200,
        order('ORDER_0011', {
          status: 'REFUNDED',
          paidAt: '2025-01-31T16:06:00.000Z',
          refundedFen: 15590,
          refunds: [{ amountFen: 15590, status: 'SUCCESS', createdAt: '2025-02-01T08:00:00.000Z' }],
        }),
      );
      mp.reply(
        'GET',
        '/api/orders/ORDER_0012',
        200,
        order('ORDER_0012', {
          status: 'PAID',
          paidAt: '2025-01-31T16:06:00.000Z',
          refundedFen: 0,
          refunds: [],
        }),
      );
      const refunded = mp.open('/pages/order/order?orderNo=ORDER_0011');
      const paid = mp.open('/pages/order/order?orderNo=ORDER_0012');
      await refunded.waitFor(() => refunded.all('.status').length === 1, 'the order to show');
      await paid.waitFor(() => paid.all('.status').length === 1, 'the order to show');

      expect(refunded.texts('.status')).toEqual(['已退款']);
      expect(amountRows(refunded)).toEqual([
        ['合计', '¥155.90'],
        ['已退款', '¥155.90'],
      ]);
      expect(refunded.rows('.refund')).toEqual([['退款成功', '¥155.90']]);
      expect(paid.texts('.status')).toEqual(['已支付']);
      expect(amountRows(paid)).toEqual([['合计', '¥155.90']]);
      expect(paid.all('.refunds')).toEqual([]);
      expect(mp.errors).toEqual([]);
    });

    it('opens the payment sheet at once with the checkout the shop page handed over', async () => {
      mp.app.globalData.checkout = checkout('ORDER_0006');
      const page = mp.open('/pages/order/order?orderNo=ORDER_0006');

      expect(mp.payments).toEqual([PAY_PARAMS]);
      expect(mp.requests).toEqual([]);
      expect(payButton(page)).toEqual({ text: '支付中', disabled: true, loading: true });
      expect(amountRows(page)).toEqual([['合计', '¥155.90']]);
      expect(mp.errors).toEqual([]);
    });

    it('after a failed payment says why and offers 支付 again for the same order', async () => {
      mp.app.globalData.checkout = checkout('ORDER_0007');
      mp.paymentOutcomes.push('requestPayment:fail 支付失败，请稍后再试');
      const page = mp.open('/pages/order/order?orderNo=ORDER_0007');
      await page.waitForText('可以再次支付');

      expect(page.texts('.message')).toEqual(['支付未成功（支付失败，请稍后再试），可以再次支付']);
      expect(payButton(page)).toEqual({ text: '支付', disabled: false, loading: false });
      expect(page.texts('.status')).toEqual(['待支付']);
      expect(mp.modals).toEqual([
        expect.objectContaining({ title: '支付未成功', content: '支付失败，请稍后再试' }),
      ]);
      expect(mp.errors).toEqual([]);
    });

    it('after a cancelled payment keeps the order and offers 支付 again', async () => {
      mp.app.globalData.checkout = checkout('ORDER_0008');
      mp.paymentOutcomes.push('requestPayment:fail cancel');
      const page = mp.open('/pages/order/order?orderNo=ORDER_0008');
      await page.waitForText('已取消支付');

      expect(page.texts('.message')).toEqual(['已取消支付，订单保留，可以再次支付']);
      expect(payButton(page)).toEqual({ text: '支付', disabled: false, loading: false });
      expect(mp.errors).toEqual([]);
    });

    it('says the result is not confirmed yet when the shop keeps answering UNPAID after the sheet said ok', async () => {
      mp.app.globalData.checkout = checkout('ORDER_0009');
      mp.paymentOutcomes.push('requestPayment:ok');
      mp.reply('GET', '/api/orders/ORDER_0009', 200, order('ORDER_0009'));
      const page = mp.open('/pages/order/order?orderNo=ORDER_0009');
      await page.waitForText('暂未确认到支付结果');

      expect(mp.requestsTo('GET', '/api/orders/ORDER_0009')).toHaveLength(
        mp.config.paymentCheck.attempts,
      );
      expect(page.texts('.status')).toEqual(['待支付']);
      expect(page.text).not.toContain('支付成功');
      expect(page.texts('.refresh')).toEqual(['刷新订单状态']);
      expect(mp.errors).toEqual([]);
    });

    it('shows why the order could not be loaded, with a retry button', async () => {
      mp.reply('GET', '/api/orders/ORDER_0010', 404, {
        statusCode: 404,
        error: 'Not Found',
        message: 'order ORDER_0010 not found',
        retryable: false,
      } satisfies ApiErrorBody);
      const page = mp.open('/pages/order/order?orderNo=ORDER_0010');
      await page.waitForText('order ORDER_0010 not found');

      expect(page.texts('.retry')).toEqual(['重试']);
      expect(page.all('.pay')).toEqual([]);
      expect(page.all('.amount')).toEqual([]);
      expect(mp.errors).toEqual([]);
    });
  });

  describe('the order list', () => {
    it('shows each order with its description, status, local time and amount in yuan', async () => {
      const list: OrderPageDto = {
        items: [
          order('ORDER_0012', { amount: 1, description: '试饮装', status: 'PAID' }),
          order('ORDER_0011', { createdAt: '2025-01-30T08:00:00.000Z', status: 'CLOSED' }),
        ],
        page: 1,
        pageSize: 20,
        total: 2,
      };
      mp.reply('GET', '/api/orders', 200, list);
      const page = mp.open('/pages/orders/orders');
      await page.waitFor(() => page.all('.order').length === 2, 'the orders to show');

      // sv-SE writes local time as YYYY-MM-DD HH:MM:SS: an independent account of what the user's
      // own clock says.
      const local = (iso: string) => new Date(iso).toLocaleString('sv-SE').slice(0, 16);
      expect(page.rows('.order .row')).toEqual([
        ['试饮装', '已支付'],
        [local('2025-01-31T16:05:00.000Z'), '¥0.01'],
        [`${BEANS.name} 等 2 件`, '已关闭'],
        [local('2025-01-30T08:00:00.000Z'), '¥155.90'],
      ]);
      expect(mp.requests.map((r) => [r.method, r.path, r.data])).toEqual([
        ['POST', '/api/auth/login', { code: 'login-code' }],
        ['GET', '/api/orders', { page: 1, pageSize: 20 }],
      ]);
      expect(mp.requests[1].header).toMatchObject({ Authorization: 'Bearer session-token' });
      expect(page.text).not.toContain('只显示最近');
      expect(mp.errors).toEqual([]);
    });

    it('says only the latest orders are shown when the shop has more', async () => {
      mp.reply('GET', '/api/orders', 200, {
        items: [order('ORDER_0013'), order('ORDER_0014')],
        page: 1,
        pageSize: 20,
        total: 25,
      } satisfies OrderPageDto);
      const page = mp.open('/pages/orders/orders');
      await page.waitForText('只显示最近 2 笔');
      expect(page.all('.order')).toHaveLength(2);
      expect(mp.errors).toEqual([]);
    });

    it('says there are no orders yet', async () => {
      mp.reply('GET', '/api/orders', 200, {
        items: [],
        page: 1,
        pageSize: 20,
        total: 0,
      } satisfies OrderPageDto);
      const page = mp.open('/pages/orders/orders');
      await page.waitForText('还没有订单');
      expect(page.all('.order')).toEqual([]);
      expect(mp.errors).toEqual([]);
    });

    it('opens the order the user taps', async () => {
      mp.reply('GET', '/api/orders', 200, {
        items: [order('ORDER_0015'), order('ORDER_0016')],
        page: 1,
        pageSize: 20,
        total: 2,
      } satisfies OrderPageDto);
      const page = mp.open('/pages/orders/orders');
      await page.waitFor(() => page.all('.order').length === 2, 'the orders to show');

      page.all('.order')[1].dispatchEvent('tap');
      await page.waitFor(() => mp.navigations.length > 0, 'the order to be opened');
      expect(mp.navigations).toEqual([
        { kind: 'navigateTo', url: '/pages/order/order?orderNo=ORDER_0016' },
      ]);
      expect(mp.errors).toEqual([]);
    });
  });
});
