import { WechatPayError, type RefundResult, type WechatPayGateway } from 'nestjs-wechat-pay-v2';

/** A refund; one in doubt (timeout, SYSTEMERROR...) is repeated with the same number, never a new one. */
export async function refundWithRetry(
  gateway: WechatPayGateway,
  refund: { outTradeNo: string; outRefundNo: string; totalFee: number; refundFee: number },
  { attempts = 3, pauseMs = 1000 } = {},
): Promise<RefundResult> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await gateway.refund(refund);
    } catch (error) {
      const again = error instanceof WechatPayError && error.retryable && attempt < attempts;
      if (!again) throw error;
      await new Promise((resolve) => setTimeout(resolve, pauseMs * attempt));
    }
  }
}

/** One day's bill, read row by row: what WeChat collected and refunded per order, in fen. */
export async function billTotals(gateway: WechatPayGateway, billDate: string) {
  const bill = await gateway.downloadBillStream({ billDate, billType: 'ALL', tarType: 'GZIP' });
  if (!bill.found) return undefined; // No Bill Exist: no trades that day
  const orders = new Map<string, { paidFen: number; refundedFen: number }>();
  for await (const row of bill.rows) {
    const order = orders.get(row.outTradeNo) ?? { paidFen: 0, refundedFen: 0 };
    if (row.tradeState === 'REFUND') order.refundedFen += row.refundFee ?? 0;
    else order.paidFen += row.settlementTotalFee;
    orders.set(row.outTradeNo, order);
  }
  return { orders, summary: bill.rows.summary };
}
