import { buildPaymentNotification, parseNotifyReply } from 'nestjs-wechat-pay-v2/testing';
import type { SimulatedOrderView } from 'wechat-pay-v2-simulator';
import { call, outcomeOf } from './http';

export interface CopiesResult {
  orderNo: string;
  copies: number;
  at: number;
  /** Replies by `return_code` (`SUCCESS`, `FAIL: <msg>`) or HTTP outcome when not a v2 reply. */
  replies: Record<string, number>;
}

/**
 * Concurrent copies of one signed payment notification for an order just paid at WeChat, built
 * from the simulator's view of it (the real transaction id, amount and payer) and signed with the
 * merchant's key, so every copy is genuine. They race the simulator's own notification and go
 * through the load balancer, so several instances settle the same order at once.
 */
export async function postNotificationCopies(
  notifyUrl: string,
  apiKey: string,
  view: SimulatedOrderView,
  copies: number,
): Promise<CopiesResult> {
  const { xml } = buildPaymentNotification({
    apiKey,
    appId: view.appId,
    mchId: view.mchId,
    outTradeNo: view.outTradeNo,
    transactionId: view.transactionId,
    totalFee: view.totalFee,
    cashFee: view.cashFee,
    openid: view.openid,
    timeEnd: view.timeEnd,
    bankType: view.bankType,
    tradeType: view.tradeType,
    signType: view.signType,
  });
  const at = Date.now();
  const answers = await Promise.all(
    Array.from({ length: copies }, () =>
      call(notifyUrl, {
        method: 'POST',
        body: xml,
        headers: { 'content-type': 'text/xml; charset=utf-8' },
      }),
    ),
  );
  const replies: Record<string, number> = {};
  for (const answer of answers) {
    let key = outcomeOf(answer);
    if (answer.status === 200) {
      try {
        const reply = await parseNotifyReply(answer.text);
        key = reply.returnCode === 'SUCCESS' ? 'SUCCESS' : `FAIL: ${reply.returnMsg ?? ''}`;
      } catch {
        key = '200, not a v2 reply';
      }
    }
    replies[key] = (replies[key] ?? 0) + 1;
  }
  return { orderNo: view.outTradeNo, copies, at, replies };
}
