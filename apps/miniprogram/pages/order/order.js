const api = require('../../utils/api');
const config = require('../../config');
const { formatFen } = require('../../utils/money');
const { refundStatusLabel, statusLabel } = require('../../utils/order-status');

const CANCELLED = 'requestPayment:fail cancel';

/**
 * @typedef {import('../../utils/api').ApiError} ApiError
 * @typedef {import('../../utils/api').Checkout} Checkout
 * @typedef {import('../../utils/api').Order} Order
 * @typedef {import('../../utils/api').PayParams} PayParams
 *
 * One row under the order's lines: a label and an amount, `key` naming what it sums.
 * @typedef {{ key: string, label: string, amountText: string }} AmountLine
 *
 * @typedef {{ productId: number, name: string, quantity: number, lineTotalText: string }} ItemRow
 * One refund of the order: its amount and state, `key` for wx:key.
 * @typedef {{ key: number, amountText: string, status: string, statusText: string }} RefundRow
 * @typedef {{ orderNo: string, description: string, status: string, statusText: string, items: ItemRow[], amountLines: AmountLine[], refunds: RefundRow[] }} OrderView
 */

/**
 * The amounts shown below the items, in order. Each is formatted from the shop's fen; the page
 * adds none up itself.
 * @param {Order} order
 * @returns {AmountLine[]}
 */
function amountLines(order) {
  const lines = [{ key: 'total', label: '合计', amountText: formatFen(order.amount) }];
  if (order.refundedFen) {
    lines.push({ key: 'refunded', label: '已退款', amountText: formatFen(order.refundedFen) });
  }
  return lines;
}

/**
 * @param {Order} order
 * @returns {RefundRow[]}
 */
function refundRows(order) {
  return (order.refunds || []).map((refund, index) => ({
    key: index,
    amountText: formatFen(refund.amountFen),
    status: refund.status,
    statusText: refundStatusLabel(refund.status),
  }));
}

/**
 * @param {Order} order
 * @returns {OrderView}
 */
function orderView(order) {
  return {
    orderNo: order.orderNo,
    description: order.description,
    status: order.status,
    statusText: statusLabel(order.status),
    items: order.items.map((item) => ({
      productId: item.productId,
      name: item.name,
      quantity: item.quantity,
      lineTotalText: formatFen(item.lineTotalFen),
    })),
    amountLines: amountLines(order),
    refunds: refundRows(order),
  };
}

Page({
  data: {
    /** @type {OrderView | null} */
    order: null,
    loading: true,
    error: '',
    // From the tap on 支付 until the payment is cancelled, failed or settled: no second payment meanwhile.
    paying: false,
    confirming: false,
    message: '',
    // The order was placed but its payment never started: the button says 再次支付.
    payAgain: false,
  },

  orderNo: '',
  unloaded: false,
  /** @type {number | undefined} */
  checkTimer: undefined,

  onLoad(query) {
    this.orderNo = query.orderNo || '';
    const app = getApp();
    /** @type {Checkout | null} */
    const checkout = app.globalData.checkout;
    const notice = app.globalData.notice;
    app.globalData.checkout = null;
    app.globalData.notice = null;
    if (notice && notice.orderNo === this.orderNo) {
      this.setData({ message: notice.message, payAgain: true });
    }
    if (checkout && checkout.orderNo === this.orderNo && checkout.payParams) {
      this.showOrder(checkout);
      this.requestPayment(checkout.payParams);
    } else {
      this.refresh();
    }
  },

  onUnload() {
    this.unloaded = true;
    if (this.checkTimer !== undefined) clearTimeout(this.checkTimer);
  },

  refresh() {
    return api.getOrder(this.orderNo).then(
      (order) => this.showOrder(order),
      (/** @type {ApiError} */ error) => this.setData({ loading: false, error: error.message }),
    );
  },

  onRefresh() {
    this.refresh();
  },

  /** @param {Order} order */
  showOrder(order) {
    this.setData({ order: orderView(order), loading: false, error: '' });
  },

  /** Fresh pay parameters for this order, then the payment sheet again. */
  onPay() {
    if (this.data.paying) return;
    this.setData({ paying: true, message: '' });
    wx.showLoading({ title: '正在准备支付', mask: true });
    api.payOrder(this.orderNo).then(
      (checkout) => {
        wx.hideLoading();
        this.showOrder(checkout);
        this.requestPayment(checkout.payParams);
      },
      (/** @type {ApiError} */ error) => {
        wx.hideLoading();
        this.setData({ paying: false, message: error.message });
        // 409: paid or closed meanwhile; show what the order is now.
        if (error.statusCode === 409) this.refresh();
      },
    );
  },

  /** @param {PayParams} payParams */
  requestPayment(payParams) {
    this.setData({ paying: true, message: '' });
    // The five fields exactly as the shop signed them: the WeChat client checks paySign over these
    // strings, so none may be rebuilt, re-signed or turned into a number.
    wx.requestPayment({
      timeStamp: payParams.timeStamp,
      nonceStr: payParams.nonceStr,
      package: payParams.package,
      signType: payParams.signType,
      paySign: payParams.paySign,
      success: () => this.confirmPayment(),
      fail: (res) => this.paymentStopped(res && res.errMsg),
    });
  },

  /** @param {string | undefined} errMsg */
  paymentStopped(errMsg) {
    if (errMsg === CANCELLED) {
      this.setData({ paying: false, message: '已取消支付，订单保留，可以再次支付' });
      wx.showToast({ title: '已取消支付', icon: 'none' });
      return;
    }
    const reason = String(errMsg || '').replace(/^requestPayment:fail\s*/, '') || '未知原因';
    this.setData({ paying: false, message: '支付未成功（' + reason + '），可以再次支付' });
    wx.showModal({ title: '支付未成功', content: reason, showCancel: false });
  },

  /**
   * requestPayment:ok is only the WeChat client's word. The order is paid when the shop says so
   * (after WeChat's notification or its own order query), so ask it a bounded number of times.
   */
  confirmPayment() {
    this.setData({ confirming: true, message: '正在确认支付结果…' });
    this.checkPayment(1);
  },

  /** @param {number} attempt */
  checkPayment(attempt) {
    if (this.unloaded) return;
    api.getOrder(this.orderNo).then(
      (order) => {
        this.showOrder(order);
        if (order.status === 'PAID') {
          this.setData({ paying: false, confirming: false, message: '支付成功' });
          wx.showToast({ title: '支付成功', icon: 'success' });
        } else if (order.status === 'CLOSED') {
          this.setData({ paying: false, confirming: false, message: '订单已关闭，未完成支付' });
        } else {
          this.checkLater(attempt);
        }
      },
      () => this.checkLater(attempt),
    );
  },

  /** @param {number} attempt */
  checkLater(attempt) {
    if (this.unloaded) return;
    if (attempt >= config.paymentCheck.attempts) {
      this.setData({
        paying: false,
        confirming: false,
        message:
          '暂未确认到支付结果。如已扣款，订单稍后会自动更新为已支付，请点“刷新订单状态”或到“我的订单”查看',
      });
      return;
    }
    this.checkTimer = setTimeout(
      () => this.checkPayment(attempt + 1),
      config.paymentCheck.intervalMs,
    );
  },

  onOpenOrders() {
    wx.redirectTo({ url: '/pages/orders/orders' });
  },
});
