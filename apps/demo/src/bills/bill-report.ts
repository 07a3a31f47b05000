import { formatYuan } from 'nestjs-wechat-pay-v2/protocol';
import type { BillRunView, SideTotalsView } from './bills.dto';

const cell = (count: number, fen: number) =>
  `${String(count).padStart(5)} ${formatYuan(fen).padStart(12)}`;

function totalsLine(label: string, wechat: SideTotalsView, ours: SideTotalsView, which: 'p' | 'r') {
  const pick = (side: SideTotalsView) =>
    which === 'p' ? cell(side.payments, side.paymentsFen) : cell(side.refunds, side.refundsFen);
  return `${label.padEnd(10)}${pick(wechat)}   ${pick(ours)}`;
}

/**
 * The CLI's summary of a run: both sides' counts and totals (yuan, from integer fen), then one line
 * per discrepancy the run found, naming the order (and refund).
 */
export function renderBillReport(view: BillRunView): string {
  const bill = view.bill === 'NO_BILL' ? 'WeChat: No Bill Exist' : `bill ${view.bill ?? '-'}`;
  const lines = [
    `Bill ${view.date} (ALL): ${view.status}, ${bill}, attempt ${view.attempt} by ${view.runBy}, ${view.durationMs ?? '-'} ms`,
    '',
    `${''.padEnd(10)}${'WeChat'.padStart(18)}   ${'here'.padStart(18)}`,
    `${''.padEnd(10)}${'count'.padStart(5)} ${'yuan'.padStart(12)}   ${'count'.padStart(5)} ${'yuan'.padStart(12)}`,
    totalsLine('payments', view.wechat, view.ours, 'p'),
    totalsLine('refunds', view.wechat, view.ours, 'r'),
    '',
  ];
  const open = view.discrepancies.filter((d) => d.open);
  if (open.length === 0) {
    lines.push('clean: no discrepancies');
  } else {
    lines.push(`${open.length} discrepancies (${view.repairedCount} repaired):`);
    for (const d of open) {
      const subject =
        d.refundNo === null ? `order ${d.orderNo}` : `order ${d.orderNo} refund ${d.refundNo}`;
      const amounts = `WeChat ${d.wechatFen === null ? '-' : formatYuan(d.wechatFen)}, here ${d.ourFen === null ? '-' : formatYuan(d.ourFen)}`;
      lines.push(
        `  ${d.kind.padEnd(26)} ${subject}  (${amounts})${d.repaired ? ' REPAIRED' : ''}: ${d.detail}`,
      );
    }
  }
  const earlier = view.discrepancies.length - open.length;
  if (earlier > 0) lines.push(`${earlier} found by earlier attempts, not seen since`);
  return `${lines.join('\n')}\n`;
}
