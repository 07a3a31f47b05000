/** @type {Record<string, string | undefined>} */
const LABELS = {
  UNPAID: '待支付',
  PAID: '已支付',
  CLOSED: '已关闭',
};

/**
 * A state this client does not know yet is shown as the shop names it.
 * @param {string} status
 */
function statusLabel(status) {
  return LABELS[status] || status;
}

module.exports = { statusLabel };
