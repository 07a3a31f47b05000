import { renderBillReport } from './bill-report';
import type { BillRunView } from './bills.dto';

describe('bill report', () => {
  it('names the order of each discrepancy the run found, and only those', () => {
    const view: BillRunView = {
      date: '20261130',
      status: 'DONE',
      bill: 'FOUND',
      attempt: 2,
      runBy: 'cli',
      wechat: { payments: 2, paymentsFen: 1200, refunds: 1, refundsFen: 100 },
      ours: { payments: 1, paymentsFen: 600, refunds: 0, refundsFen: 0 },
      discrepancyCount: 1,
      repairedCount: 0,
      lastError: null,
      startedAt: '2026-12-01T01:30:00.000Z',
      finishedAt: '2026-12-01T01:30:00.020Z',
      durationMs: 20,
      discrepancies: [
        {
          kind: 'REFUND_AT_WECHAT_NOT_HERE',
          orderNo: 'D1',
          refundNo: 'D1-R1',
          transactionId: '42',
          wechatFen: 100,
          ourFen: null,
          detail: 'not here',
          repaired: false,
          open: true,
          firstSeenAt: '2026-12-01T01:30:00.010Z',
          lastSeenAt: '2026-12-01T01:30:00.010Z',
        },
        {
          kind: 'PAID_AT_WECHAT_NOT_HERE',
          orderNo: 'D2',
          refundNo: null,
          transactionId: '43',
          wechatFen: 600,
          ourFen: 600,
          detail: 'settled',
          repaired: true,
          open: false,
          firstSeenAt: '2026-12-01T01:00:00.010Z',
          lastSeenAt: '2026-12-01T01:00:00.010Z',
        },
      ],
    };
    const text = renderBillReport(view);
    expect(text).toContain('payments      2        12.00       1         6.00');
    expect(text).toContain('refunds       1         1.00       0         0.00');
    expect(text).toContain(
      'REFUND_AT_WECHAT_NOT_HERE  order D1 refund D1-R1  (WeChat 1.00, here -): not here',
    );
    expect(text).not.toContain('order D2');
    expect(text).toContain('1 found by earlier attempts, not seen since');
  });
});
