const LABELS = {
  UNPAID: '待支付',
  PAID: '已支付',
  CLOSED: '已关闭',
};

function statusLabel(status) {
  return LABELS[status] || status;
}

module.exports = { statusLabel };
