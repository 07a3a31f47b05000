import type { Finding } from './bill-comparison';
import type { BillRunReport } from './bill-reconcile.service';
import type { BillAnswerKind, BillRunStatus, BillRunTrigger } from './bill-run.entity';

export interface SideTotalsView {
  payments: number;
  paymentsFen: number;
  refunds: number;
  refundsFen: number;
}

/** A stored finding, as the admin API shows it. */
export interface DiscrepancyView extends Finding {
  /** Found by the run's latest attempt; false: found by an earlier one and not since. */
  open: boolean;
  firstSeenAt: string;
  lastSeenAt: string;
}

/** The answer of GET /api/admin/bills/:date and POST .../reconcile. Amounts are integer fen. */
export interface BillRunView {
  date: string;
  status: BillRunStatus;
  /** FOUND, NO_BILL (WeChat had no trades that day), or null while running or after a failure. */
  bill: BillAnswerKind | null;
  attempt: number;
  runBy: BillRunTrigger;
  wechat: SideTotalsView;
  ours: SideTotalsView;
  discrepancyCount: number;
  repairedCount: number;
  lastError: string | null;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  discrepancies: DiscrepancyView[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export function billRunView({ run, discrepancies }: BillRunReport): BillRunView {
  return {
    date: run.billDate,
    status: run.status,
    bill: run.bill,
    attempt: run.attempt,
    runBy: run.runBy,
    wechat: {
      payments: run.wechatPayments,
      paymentsFen: run.wechatPaymentsFen,
      refunds: run.wechatRefunds,
      refundsFen: run.wechatRefundsFen,
    },
    ours: {
      payments: run.ourPayments,
      paymentsFen: run.ourPaymentsFen,
      refunds: run.ourRefunds,
      refundsFen: run.ourRefundsFen,
    },
    discrepancyCount: run.discrepancyCount,
    repairedCount: run.repairedCount,
    lastError: run.lastError,
    startedAt: iso(run.startedAt),
    finishedAt: run.finishedAt === null ? null : iso(run.finishedAt),
    durationMs: run.durationMs,
    discrepancies: discrepancies.map((d) => ({
      kind: d.kind,
      orderNo: d.orderNo,
      refundNo: d.refundNo,
      transactionId: d.transactionId,
      wechatFen: d.wechatFen,
      ourFen: d.ourFen,
      detail: d.detail,
      repaired: Number(d.repaired) === 1,
      open: d.open,
      firstSeenAt: iso(d.firstSeenAt),
      lastSeenAt: iso(d.lastSeenAt),
    })),
  };
}
