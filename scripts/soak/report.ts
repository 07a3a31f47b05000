import type { SoakReport, Spread } from './audit';

const ms = (v: number | undefined) =>
  v === undefined ? '-' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v} ms`;
const spread = (s: Spread) =>
  s.count === 0 ? 'none' : `p50 ${ms(s.p50)}, p95 ${ms(s.p95)}, max ${ms(s.max)} (n=${s.count})`;
const dict = (d: Record<string, number | string | null>) => {
  const entries = Object.entries(d);
  return entries.length ? entries.map(([k, v]) => `${k}: ${v ?? '-'}`).join(', ') : 'none';
};

function table(title: string, rows: [string, string | number][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`${title}`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

function httpTable(report: SoakReport): string {
  const routes = Object.keys(report.http.byRoute).sort();
  const columns = [...new Set(routes.flatMap((r) => Object.keys(report.http.byRoute[r])))].sort(
    (a, b) => a.localeCompare(b, 'en', { numeric: true }),
  );
  const width = Math.max(...routes.map((r) => r.length), 5);
  const head = ['route'.padEnd(width), ...columns.map((c) => c.padStart(Math.max(c.length, 5)))];
  const lines = routes.map((route) =>
    [
      route.padEnd(width),
      ...columns.map((c) =>
        String(report.http.byRoute[route][c] ?? '').padStart(Math.max(c.length, 5)),
      ),
    ].join('  '),
  );
  return [
    'HTTP answers seen by the clients (status, balancer 502, or no answer)',
    `  ${head.join('  ')}`,
    ...lines.map((l) => `  ${l}`),
  ].join('\n');
}

/** The report as people read it: money first, then outages, then everything else. */
export function formatReport(report: SoakReport): string {
  const m = report.money;
  const o = report.outages;
  const sections: string[] = [];
  sections.push(
    table('Money', [
      ['orders placed', m.ordersPlaced],
      ['paid at WeChat (simulator)', m.paidAtWechat],
      ['recorded paid (database)', m.recordedPaid],
      [`lost (not recorded within ${report.run.settleDeadlineS} s)`, m.lost],
      ['false paid (not paid at WeChat)', m.falsePaid],
      ['other transaction or amount', m.mismatchedPayments],
      ['double fulfilments', m.doubleFulfilments],
      ['paid without fulfilment', m.paidWithoutFulfilment],
      [
        `stuck (unpaid ${report.run.expiryGraceS} s past expiry)`,
        m.stuck === null
          ? 'not measured (no order expired before the audit)'
          : `${m.stuck} of ${m.expiredByAudit} expired`,
      ],
      ...m.stuckOrders.map((o): [string, string] => [
        `  ${o.orderNo}`,
        `${o.pastExpiryS} s past expiry, ${o.checkAttempts} checks, next in ${o.nextCheckInS ?? '-'} s` +
          `${o.cancelRequested ? ', cancel requested' : ''}, last error: ${o.lastError ?? 'none'}`,
      ]),
      ['unpaid past expiry, any age', m.unpaidPastExpiry],
      ['time to settle (payment to paid_at)', spread(report.settleMs)],
      [
        'client saw PAID after',
        `${spread(report.clientSawPaidMs)}; not within 10 polls: ${report.clientSawPaidMs.neverWithinPolls}`,
      ],
      ['recorded via', dict(report.paidVia)],
      ['order states', dict(report.orderStates)],
    ]),
  );
  sections.push(
    table('Errors seen', [
      ['HTTP 500 (instances)', report.http.status500],
      ['  by route', dict(report.http.status500ByRoute)],
      ['  by window', dict(report.http.status500ByWindow)],
      ['/health probes', report.health.probes],
      ['/health 503', report.health.status503],
      ['  by window', dict(report.health.status503ByWindow)],
      ['  bodies said', dict(report.health.status503Reasons)],
      ['/health no answer', report.health.unreachable],
    ]),
  );
  const outageRows: [string, string | number][] = [];
  if (o.kill9)
    outageRows.push([
      `kill -9 ${o.kill9.instance} at ${o.kill9.atS} s`,
      `back after ${o.kill9.downForS ?? '-'} s (ready ${o.kill9.readyAfterRestartS ?? '-'} s after restart)`,
    ]);
  o.databaseKills.forEach((k, i) =>
    outageRows.push([
      `database kill ${i + 1} at ${k.atS} s`,
      `${k.terminated} connections; recovered after ${dict(k.recoveryMs)} ms; before that: ${dict(k.answersBeforeRecovery)}; 500s within 10 s: ${k.status500Within10s}`,
    ]),
  );
  if (o.partition) {
    const p = o.partition;
    outageRows.push(
      [`partition at ${p.fromS} s`, `${p.hangS} s hanging, then ${p.refuseS} s refused`],
      ['  orders placed during it', p.ordersPlaced],
      ['  how they ended', dict(p.ended)],
      ['  paid after a retry of /pay', p.paidAfterRetry],
      ['  never reached WeChat', p.neverReachedWechat],
      ['  checkout answers', dict(p.checkoutAnswers)],
      ['  /health 503 during / 2 min after', `${p.health503During} / ${p.health503After}`],
      [
        '  /health first 503 into it, 200 again after it',
        dict(
          Object.fromEntries(
            Object.entries(p.healthPerInstance).map(([name, h]) => [
              name,
              `${h.first503IntoS ?? '-'} s / ${h.back200AfterS ?? '-'} s`,
            ]),
          ),
        ),
      ],
    );
  }
  if (report.copies)
    outageRows.push([
      `${report.copies.copies} copies of one notification`,
      `replies ${dict(report.copies.replies)}; fulfilments ${report.copies.fulfilments}; stored ${report.copies.storedNotifications}`,
    ]);
  if (outageRows.length) sections.push(table('Outages', outageRows));
  sections.push(
    table('Notifications, cancels, clients', [
      [
        'simulator sends',
        `${report.notifications.sends} (${dict(report.notifications.byOutcome)})`,
      ],
      ['  answers WeChat got', dict(report.notifications.byReply)],
      ['stored by the shop', dict(report.notifications.storedByOutcome)],
      ['payment reviews', dict(report.notifications.reviews)],
      ['cancels requested', report.cancels.requested],
      ['  first answer', dict(report.cancels.firstAnswers)],
      ['  ended', dict(report.cancels.ended)],
      ['  refused and forgotten', report.cancels.forgotten],
      ['checkouts whose order was never found', report.clients.untrackedCheckouts],
      ['orders the user gave up paying', report.clients.gaveUpPaying],
      ['payments refused by WeChat', dict(report.clients.paymentsRefused)],
      ['order slots skipped (shop behind the pace)', report.clients.paceSkipped],
      [
        'reconciler passes',
        `${report.reconciler.passes}, longest ${ms(report.reconciler.maxPassMs ?? undefined)}, over the lease: ${report.reconciler.passesOverLease}`,
      ],
      ['unexpected instance exits', report.instances.unexpectedExits.length],
      ['error lines in instance logs', dict(report.instances.errorLogLines)],
    ]),
  );
  sections.push(httpTable(report));
  const verdict = report.passed
    ? 'PASS: nothing lost, nothing paid falsely, nothing fulfilled twice'
    : [
        ...report.failures.map((f) => `FAIL: ${f}`),
        ...report.incomplete.map((f) => `INCOMPLETE: ${f}`),
      ].join('\n');
  sections.push(verdict);
  return sections.join('\n\n');
}
