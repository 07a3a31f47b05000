const api = require('../../utils/api');
const config = require('../../config');
const { formatFen } = require('../../utils/money');

const PAY_AGAIN_MESSAGE = '订单已保留，但暂时无法发起支付，请稍后点“再次支付”';

/**
 * @typedef {import('../../utils/api').ApiError} ApiError
 * @typedef {import('../../utils/api').Checkout} Checkout
 */

/** @param {number} ms */
function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * POST /api/orders; when the order was placed but its payment could not be prepared, one more
 * try through the retry path the shop gave. A second failure carries the order number, so the
 * page can offer to pay that order again rather than report the order as failed.
 * @param {Array<{ productId: number, quantity: number }>} items
 * @returns {Promise<Checkout>}
 */
function placeOrder(items) {
  return api.createOrder(items).catch((/** @type {ApiError} */ error) => {
    const pending = api.pendingOrder(error);
    if (!pending) throw error;
    return delay(config.checkoutRetryDelayMs)
      .then(() => api.payAt(pending.retryPath))
      .catch((/** @type {ApiError} */ again) => {
        again.orderNo = pending.orderNo;
        throw again;
      });
  });
}

Page({
  data: {
    /** @type {Array<{ id: number, name: string, priceText: string }>} */
    products: [],
    loading: true,
    error: '',
    buying: false,
  },

  onLoad() {
    this.loadProducts();
  },

  loadProducts() {
    this.setData({ loading: true, error: '' });
    return api.listProducts().then(
      (products) =>
        this.setData({
          loading: false,
          products: products.map((product) => ({
            id: product.id,
            name: product.name,
            priceText: formatFen(product.priceFen),
          })),
        }),
      (/** @type {ApiError} */ error) => this.setData({ loading: false, error: error.message }),
    );
  },

  onRetry() {
    this.loadProducts();
  },

  /** @param {WechatMiniprogram.TouchEvent<{}, {}, { id: number | string }>} event */
  onBuy(event) {
    if (this.data.buying) return;
    const productId = Number(event.currentTarget.dataset.id);
    this.setData({ buying: true });
    wx.showLoading({ title: '正在下单', mask: true });
    placeOrder([{ productId: productId, quantity: 1 }]).then(
      (checkout) => {
        wx.hideLoading();
        this.setData({ buying: false });
        getApp().globalData.checkout = checkout;
        this.openOrder(checkout.orderNo);
      },
      (/** @type {ApiError} */ error) => {
        wx.hideLoading();
        this.setData({ buying: false });
        if (error.orderNo) {
          getApp().globalData.notice = { orderNo: error.orderNo, message: PAY_AGAIN_MESSAGE };
          this.openOrder(error.orderNo);
          return;
        }
        wx.showModal({ title: '下单失败', content: error.message, showCancel: false });
      },
    );
  },

  /** @param {string} orderNo */
  openOrder(orderNo) {
    wx.navigateTo({ url: '/pages/order/order?orderNo=' + encodeURIComponent(orderNo) });
  },

  onOpenOrders() {
    wx.navigateTo({ url: '/pages/orders/orders' });
  },
});
