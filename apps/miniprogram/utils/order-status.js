/** @type {Record<string, string | undefined>} */
const LABELS = {
  UNPAID: '待支付',
  PAID: '已支付',
  PARTIALLY_REFUNDED: '部分退款',
  REFUNDED: '已退款',
  CLOSED: '已关闭',
};

/**
 * A refund as the buyer sees it: PENDING (the shop has not heard back from WeChat yet) and
 * PROCESSING are both under way; CHANGE means the money could not reach the buyer and the shop
 * is handling it.
 * @type {Record<string, string | undefined>}
 */
const REFUND_LABELS = {
  PENDING: '退款处理中',
  PROCESSING: '退款处理中',
  SUCCESS: '退款成功',
  CLOSED: '退款关闭',
  CHANGE: '退款异常，商家处理中',
};

/**
 * A state this client does not know yet is shown as the shop names it.
 * @param {string} status
 */
function statusLabel(status) {
  return LABELS[status] || status;
}

/**
 * A refund state this client does not know yet is shown as the shop names it.
 * @param {string} status
 */
function refundStatusLabel(status) {
  return REFUND_LABELS[status] || status;
}

module.exports = { statusLabel, refundStatusLabel };
