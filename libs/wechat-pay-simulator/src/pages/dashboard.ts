import { CONTROL_PREFIX } from '../control-api';
import type { SimulatorControls } from '../controls';
import { NO_FAULTS, WECHAT_PATHS, type SimulatorFaults } from '../faults';
import type { NotificationAttempt } from '../notifier';
import type { BillDay } from '../bills';
import type { SimulatedOrderView, SimulatedRefundView } from '../store';
import { formatYuan } from 'nestjs-wechat-pay-v2/protocol';
import { beijingTime, escapeHtml, layout, spacedBeijingTime } from './html';

/** The part of the dashboard its script reloads every REFRESH_MS. */
export const DASHBOARD_LIVE_PATH = `${CONTROL_PREFIX}dashboard/live`;
export const REFRESH_MS = 2000;
/** Newest rows shown per table, so a long-running simulator still renders a light page. */
export const MAX_ROWS = 200;

type FaultKind = 'count' | 'rate' | 'ms' | 'copies' | 'paths';

const FAULT_FIELDS: Array<{ name: keyof SimulatorFaults; kind: FaultKind; label: string }> = [
  { name: 'dropNotifications', kind: 'count', label: 'Drop the next N notification sends' },
  { name: 'dropNotificationRate', kind: 'rate', label: 'Drop this fraction of notification sends' },
  { name: 'notificationDelayMs', kind: 'ms', label: 'Delay each notification send (ms)' },
  { name: 'notificationCopies', kind: 'copies', label: 'Concurrent copies of each send' },
  { name: 'systemErrorNext', kind: 'count', label: 'Answer the next N calls with SYSTEMERROR' },
  {
    name: 'systemErrorRate',
    kind: 'rate',
    label: 'Answer this fraction of calls with SYSTEMERROR',
  },
  { name: 'systemErrorPaths', kind: 'paths', label: 'SYSTEMERROR only on (none ticked: all)' },
  { name: 'slowResponseMs', kind: 'ms', label: 'Hold every answer (ms)' },
  { name: 'slowPaths', kind: 'paths', label: 'Slow only on (none ticked: all)' },
  {
    name: 'corruptSignatureNext',
    kind: 'count',
    label: 'Corrupt the signature of the next N answers',
  },
  {
    name: 'dropRefundNotifications',
    kind: 'count',
    label: 'Drop the next N refund notification sends',
  },
  {
    name: 'dropRefundNotificationRate',
    kind: 'rate',
    label: 'Drop this fraction of refund notification sends',
  },
  {
    name: 'refundNotificationDelayMs',
    kind: 'ms',
    label: 'Delay each refund notification send (ms)',
  },
  {
    name: 'refundNotificationCopies',
    kind: 'copies',
    label: 'Concurrent copies of each refund notification send',
  },
  {
    name: 'refundNoAnswerNext',
    kind: 'count',
    label: 'Accept the next N refunds and never answer',
  },
  {
    name: 'refundAcceptedSystemErrorNext',
    kind: 'count',
    label: 'Accept the next N refunds and answer SYSTEMERROR',
  },
];

const STEP: Record<Exclude<FaultKind, 'paths'>, string> = {
  count: 'min="0" step="1"',
  rate: 'min="0" max="1" step="0.01"',
  ms: 'min="0" step="1"',
  copies: 'min="1" max="20" step="1"',
};

const STATE_CLASS: Record<string, string> = {
  SUCCESS: 'ok',
  REFUND: 'warn',
  PROCESSING: 'warn',
  CHANGE: 'bad',
  REFUNDCLOSE: 'muted',
  PAYERROR: 'bad',
  CLOSED: 'muted',
  delivered: 'ok',
  failed: 'bad',
  dropped: 'warn',
  pending: 'warn',
  abandoned: 'bad',
};

const cell = (value: unknown, className = ''): string =>
  `<td${className ? ` class="${className}"` : ''}>${escapeHtml(value)}</td>`;
const stateCell = (value: string): string => cell(value, STATE_CLASS[value] ?? '');

function newestFirst<T>(rows: T[]): { shown: T[]; note: string } {
  const shown = rows.slice(-MAX_ROWS).reverse();
  const note =
    rows.length > shown.length
      ? `<p class="muted">The newest ${shown.length} of ${rows.length}.</p>`
      : '';
  return { shown, note };
}

function cashierLink(order: SimulatedOrderView): string {
  if (order.tradeState !== 'NOTPAY' && order.tradeState !== 'PAYERROR') return '<td></td>';
  const query = new URLSearchParams({ prepay_id: order.prepayId, openid: order.openid });
  return `<td><a href="${escapeHtml(`${CONTROL_PREFIX}cashier?${query.toString()}`)}">cashier</a></td>`;
}

function ordersTable(orders: SimulatedOrderView[]): string {
  if (orders.length === 0) return '<p class="card muted">No orders yet.</p>';
  const { shown, note } = newestFirst(orders);
  const rows = shown.map(
    (o) =>
      `<tr data-out-trade-no="${escapeHtml(o.outTradeNo)}">${cell(o.outTradeNo, 'mono')}${stateCell(o.tradeState)}` +
      `${cell(`¥${formatYuan(o.totalFee)}`)}${cell(o.body)}${cell(beijingTime(o.createdAt))}` +
      `${cell(o.timeEnd ? spacedBeijingTime(o.timeEnd) : '')}${stateCell(o.notification)}${cashierLink(o)}</tr>`,
  );
  return `${note}<div class="scroll"><table id="orders"><thead><tr><th>out_trade_no</th><th>State</th>
<th>Amount</th><th>Description</th><th>Created</th><th>Paid</th><th>Notification</th><th></th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`;
}

function notificationsTable(attempts: NotificationAttempt[]): string {
  if (attempts.length === 0) return '<p class="card muted">No notification sent yet.</p>';
  const { shown, note } = newestFirst(attempts);
  const rows = shown.map(
    (a) =>
      `<tr data-out-trade-no="${escapeHtml(a.outTradeNo)}">${cell(beijingTime(a.sentAt))}${cell(a.outTradeNo, 'mono')}` +
      `${cell(a.copy > 1 ? `${a.attempt} (copy ${a.copy})` : a.attempt)}${cell(a.status ?? '—')}` +
      `${cell(a.error ? `${a.error}${a.reply ? `: ${a.reply}` : ''}` : (a.reply ?? ''), 'mono')}` +
      `${stateCell(a.outcome)}${cell(a.nextAttemptAt ? beijingTime(a.nextAttemptAt) : '')}</tr>`,
  );
  return `${note}<div class="scroll"><table id="notifications"><thead><tr><th>Sent</th><th>out_trade_no</th>
<th>Send #</th><th>HTTP</th><th>Reply</th><th>Outcome</th><th>Next retry</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`;
}

function refundsTable(refunds: SimulatedRefundView[]): string {
  if (refunds.length === 0) return '<p class="card muted">No refunds yet.</p>';
  const { shown, note } = newestFirst(refunds);
  const rows = shown.map(
    (r) =>
      `<tr data-out-refund-no="${escapeHtml(r.outRefundNo)}">${cell(r.outRefundNo, 'mono')}${cell(r.outTradeNo, 'mono')}` +
      `${stateCell(r.status)}${cell(`¥${formatYuan(r.refundFee)}`)}${cell(`¥${formatYuan(r.totalFee)}`)}` +
      `${cell(beijingTime(r.createdAt))}${cell(r.endedAt ? beijingTime(r.endedAt) : '')}` +
      `${cell(r.recvAccount)}${stateCell(r.notification)}</tr>`,
  );
  return `${note}<div class="scroll"><table id="refunds"><thead><tr><th>out_refund_no</th><th>out_trade_no</th>
<th>Status</th><th>Refund</th><th>Order</th><th>Requested</th><th>Ended</th><th>To</th><th>Notification</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`;
}

const billLink = (day: BillDay, type: string) => {
  const query = new URLSearchParams({ mchId: day.mchId, billType: type });
  return `<a href="${escapeHtml(`${CONTROL_PREFIX}bills/${day.date}?${query.toString()}`)}">${escapeHtml(type)}</a>`;
};

function billsTable(days: BillDay[]): string {
  if (days.length === 0)
    return '<p class="card muted">No bill days yet: a paid order or a successful refund makes one.</p>';
  const rows = days
    .slice(0, MAX_ROWS)
    .map(
      (d) =>
        `<tr data-bill-date="${escapeHtml(d.date)}">${cell(d.date, 'mono')}${cell(d.mchId, 'mono')}${cell(d.rows)}` +
        `${cell(d.payments)}${cell(d.refunds)}${cell(`¥${formatYuan(d.paidFee)}`)}${cell(`¥${formatYuan(d.refundedFee)}`)}` +
        `${cell(`¥${formatYuan(d.serviceFee)}`)}<td>${['ALL', 'SUCCESS', 'REFUND'].map((t) => billLink(d, t)).join(' · ')}</td></tr>`,
    );
  return `<div class="scroll"><table id="bills"><thead><tr><th>Date</th><th>mch_id</th><th>Rows</th>
<th>Payments</th><th>Refunds</th><th>Paid</th><th>Refunded</th><th>Fees</th><th>Bill</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`;
}

function activeFaults(faults: SimulatorFaults): string {
  const shown: Array<keyof SimulatorFaults> = [
    ...FAULT_FIELDS.map(({ name }) => name),
    'refundOutcomes',
    'businessErrors',
  ];
  const active = shown
    .filter((name) => JSON.stringify(faults[name]) !== JSON.stringify(NO_FAULTS[name]))
    .map((name) => `${name}=${JSON.stringify(faults[name])}`);
  return active.length === 0
    ? '<span class="ok">none</span>'
    : `<span class="warn mono">${escapeHtml(active.join(', '))}</span>`;
}

/** The reloaded part: clock, active faults, orders and notification sends. */
export function renderDashboardLive(controls: SimulatorControls): string {
  const bills = billsTable(controls.bills());
  return `<p class="muted">Simulator time ${escapeHtml(beijingTime(controls.now().toISOString()))} (Beijing)
· active faults: ${activeFaults(controls.faults())}</p>
<h2>Orders</h2>
${ordersTable(controls.orders())}
<h2>Notifications</h2>
${notificationsTable(controls.notifications())}
<h2>Refunds</h2>
${refundsTable(controls.refunds())}
<h2>Bill days</h2>
${bills}`;
}

function faultInput(
  name: keyof SimulatorFaults,
  kind: FaultKind,
  value: SimulatorFaults[keyof SimulatorFaults],
): string {
  if (kind === 'paths') {
    const chosen = value as readonly string[];
    return WECHAT_PATHS.map(
      (path) =>
        `<label class="path"><input type="checkbox" name="${escapeHtml(name)}" value="${escapeHtml(path)}"` +
        `${chosen.includes(path) ? ' checked' : ''}> ${escapeHtml(path)}</label>`,
    ).join(' ');
  }
  return (
    `<input type="number" id="fault-${escapeHtml(name)}" name="${escapeHtml(name)}" data-number ` +
    `${STEP[kind]} value="${escapeHtml(value)}">`
  );
}

const DASHBOARD_STYLE = `
form.faults{display:grid;grid-template-columns:1fr auto;gap:6px 12px;align-items:center}
form.faults input[type=number]{width:7em;font:inherit;padding:4px}
form.faults .paths{grid-column:1/-1;font-size:13px}
label.path{white-space:nowrap;margin-right:8px}
.buttons{grid-column:1/-1;display:flex;gap:8px;flex-wrap:wrap}
.apply{background:#07c160;color:#fff}.reset{background:#f2f2f2}
#stamp{float:right}
@media (max-width:600px){form.faults{grid-template-columns:1fr}}
`;

/**
 * Reloads the live part as server-rendered (escaped) HTML, and turns the faults form into the JSON
 * that /__simulator/faults takes. The form skips the browser's own checks (novalidate) so the
 * simulator's message, which names the field and its range, is the one the user reads.
 */
const DASHBOARD_SCRIPT = `
(function () {
  var root = document.getElementById('dashboard');
  var live = document.getElementById('live');
  var stamp = document.getElementById('stamp');
  function refresh() {
    fetch(root.dataset.liveUrl, { cache: 'no-store' }).then(function (res) {
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.text();
    }).then(function (html) {
      live.innerHTML = html;
      stamp.className = 'muted';
      stamp.textContent = 'live';
    }).catch(function (err) {
      stamp.className = 'bad';
      stamp.textContent = 'refresh failed: ' + err.message;
    });
  }
  setInterval(refresh, Number(root.dataset.refreshMs));

  var form = document.getElementById('faults');
  var status = document.getElementById('faults-status');
  function fill(faults) {
    Object.keys(faults).forEach(function (name) {
      var value = faults[name];
      var inputs = form.querySelectorAll('[name="' + name + '"]');
      for (var i = 0; i < inputs.length; i++) {
        if (inputs[i].type === 'checkbox') inputs[i].checked = value.indexOf(inputs[i].value) >= 0;
        else inputs[i].value = String(value);
      }
    });
  }
  function send(method, body) {
    fetch(form.dataset.faultsUrl, {
      method: method,
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (res) {
      return res.json().then(function (answer) {
        if (!res.ok) throw new Error(answer.error || 'HTTP ' + res.status);
        fill(answer);
        status.className = 'ok';
        status.textContent = method === 'DELETE' ? 'All faults off.' : 'Faults applied.';
        refresh();
      });
    }).catch(function (err) {
      status.className = 'bad';
      status.textContent = err.message;
    });
  }
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var body = {};
    var numbers = form.querySelectorAll('input[data-number]');
    for (var i = 0; i < numbers.length; i++) body[numbers[i].name] = Number(numbers[i].value);
    var boxes = form.querySelectorAll('input[type=checkbox]');
    for (var j = 0; j < boxes.length; j++) {
      body[boxes[j].name] = body[boxes[j].name] || [];
      if (boxes[j].checked) body[boxes[j].name].push(boxes[j].value);
    }
    send('POST', body);
  });
  document.getElementById('reset').addEventListener('click', function () { send('DELETE'); });
})();
`;

/** GET /__simulator/: orders, notification sends and fault switches, refreshing itself. */
export function renderDashboard(controls: SimulatorControls): string {
  const faults = controls.faults();
  const fields = FAULT_FIELDS.map(({ name, kind, label }) =>
    kind === 'paths'
      ? `<div class="paths">${escapeHtml(label)}: ${faultInput(name, kind, faults[name])}</div>`
      : `<label for="fault-${escapeHtml(name)}">${escapeHtml(label)} <span class="mono muted">${escapeHtml(name)}</span></label>` +
        faultInput(name, kind, faults[name]),
  ).join('\n');
  const links = [
    'orders',
    'notifications',
    'refunds',
    'refund-notifications',
    'bills',
    'faults',
    'clock',
  ]
    .map((p) => `<a href="${escapeHtml(CONTROL_PREFIX + p)}">${escapeHtml(p)}</a>`)
    .join(' · ');
  const body = `<main id="dashboard" data-live-url="${escapeHtml(DASHBOARD_LIVE_PATH)}" data-refresh-ms="${REFRESH_MS}">
<h1>Simulator dashboard <span id="stamp" class="muted"></span></h1>
<div id="live">${renderDashboardLive(controls)}</div>
<h2>Faults</h2>
<form class="faults card" id="faults" novalidate data-faults-url="${escapeHtml(`${CONTROL_PREFIX}faults`)}">
${fields}
<div class="buttons"><button type="submit" class="apply">Apply</button>
<button type="button" class="reset" id="reset">Turn all faults off</button>
<span id="faults-status" role="status"></span></div>
</form>
<p class="muted">JSON: ${links}. Times are Beijing time on the simulator clock; this page reloads every ${REFRESH_MS / 1000} s.</p>
</main>
<script>${DASHBOARD_SCRIPT}</script>`;
  return layout('WeChat Pay simulator: dashboard', body, DASHBOARD_STYLE);
}
