const api = require('../../utils/api');
const { formatFen } = require('../../utils/money');
const { statusLabel } = require('../../utils/order-status');

/**
 * @typedef {import('../../utils/api').ApiError} ApiError
 * @typedef {{ orderNo: string, description: string, status: string, statusText: string, amountText: string, createdAt: string }} OrderRow
 */

/** @param {number} value */
function pad(value) {
  return value < 10 ? '0' + value : String(value);
}

/**
 * The shop answers ISO times in UTC; the user reads them in the phone's own time zone.
 * @param {string} iso
 */
function localTime(iso) {
  const time = new Date(iso);
  return (
    time.getFullYear() +
    '-' +
    pad(time.getMonth() + 1) +
    '-' +
    pad(time.getDate()) +
    ' ' +
    pad(time.getHours()) +
    ':' +
    pad(time.getMinutes())
  );
}

Page({
  data: {
    /** @type {OrderRow[]} */
    orders: [],
    total: 0,
    loading: true,
    error: '',
  },

  // onShow, not onLoad: coming back from an order that was just paid must show it paid.
  onShow() {
    this.load();
  },

  load() {
    this.setData({ loading: true, error: '' });
    return api.listOrders(1, 20).then(
      (page) =>
        this.setData({
          loading: false,
          total: page.total,
          orders: page.items.map((order) => ({
            orderNo: order.orderNo,
            description: order.description,
            status: order.status,
            statusText: statusLabel(order.status),
            amountText: formatFen(order.amount),
            createdAt: localTime(order.createdAt),
          })),
        }),
      (/** @type {ApiError} */ error) => this.setData({ loading: false, error: error.message }),
    );
  },

  onRetry() {
    this.load();
  },

  /** @param {WechatMiniprogram.TouchEvent<{}, {}, { orderNo: string }>} event */
  onOpen(event) {
    wx.navigateTo({
      url: '/pages/order/order?orderNo=' + encodeURIComponent(event.currentTarget.dataset.orderNo),
    });
  },
});
