import { CONTROL_PREFIX } from '../control-api';
import type { CashierAnswer, CashierCheckout, PaymentProblem } from '../controls';
import { formatYuan } from 'nestjs-wechat-pay-v2/protocol';
import { beijingTime, escapeHtml, layout } from './html';

/** What the page tells the user for each reason a payment cannot go ahead. */
export const PROBLEM_MESSAGES: Record<PaymentProblem, string> = {
  'unknown-prepay':
    'This prepay_id is unknown to the simulator (perhaps it was issued before a restart). Ask the shop for new payment parameters.',
  paid: 'This order has already been paid. Nothing more was charged.',
  closed:
    'This order is closed (cancelled by the shop or past its expiry time) and can no longer be paid.',
  expired:
    'This prepay_id has expired: they live 2 hours. Ask the shop for new payment parameters.',
  'other-user':
    'This order was placed by another WeChat user. Only the user who placed it can pay it.',
};

export const PAID_MESSAGE = 'Payment successful. The shop will be notified.';
export const CANCELLED_MESSAGE =
  'Payment cancelled. The order is unchanged and still unpaid (NOTPAY): it can be paid later.';

/** The JSON the cashier page's script receives after Pay or Cancel. */
export interface CashierReply {
  /** What wx.requestPayment would have reported to the mini program. */
  errMsg: string;
  state: 'paid' | 'cancelled' | 'refused';
  problem?: PaymentProblem;
  /** A sentence for the user. */
  message: string;
}

export function cashierReply(answer: CashierAnswer): CashierReply {
  if (answer.problem) {
    return {
      errMsg: answer.errMsg,
      state: 'refused',
      problem: answer.problem,
      message: PROBLEM_MESSAGES[answer.problem],
    };
  }
  if (answer.errMsg === 'requestPayment:ok') {
    return { errMsg: answer.errMsg, state: 'paid', message: PAID_MESSAGE };
  }
  return { errMsg: answer.errMsg, state: 'cancelled', message: CANCELLED_MESSAGE };
}

const CASHIER_STYLE = `
.sheet{max-width:420px;margin:16px auto;text-align:center}
.payee{font-size:15px;margin-top:4px}
.amount{font-size:40px;font-weight:600;margin:12px 0 4px;letter-spacing:.5px}
.amount small{font-size:24px;margin-right:2px}
.desc{font-size:15px;margin-bottom:12px;word-break:break-word}
dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;text-align:left;font-size:13px;margin:12px 0;padding-top:12px;border-top:1px solid #eee}
dt{color:#7f7f7f}dd{margin:0;word-break:break-all}
.result{min-height:1.4em;font-size:15px;margin:12px 0}
.result.ok{font-size:20px;font-weight:600}
.actions{display:flex;flex-direction:column;gap:10px}
.pay{background:#07c160;color:#fff;font-size:17px;font-weight:600}
.cancel{background:#f2f2f2;color:#191919}
.note{max-width:420px;margin:0 auto 16px;text-align:center}
.done .amount{color:#06ad56}
`;

/**
 * The script only posts the user's choice and shows the answer; the values it sends travel in
 * data attributes, so nothing from an order is ever written into script text.
 */
const CASHIER_SCRIPT = `
(function () {
  var sheet = document.getElementById('cashier');
  var actions = document.getElementById('actions');
  var result = document.getElementById('result');
  var errMsg = document.getElementById('errmsg');
  if (!actions) return;
  var buttons = actions.querySelectorAll('button');
  function enable(on) { for (var i = 0; i < buttons.length; i++) buttons[i].disabled = !on; }
  function show(kind, text) { result.className = 'result ' + kind; result.textContent = text; }
  function decide(outcome) {
    enable(false);
    show('muted', outcome === 'pay' ? 'Paying…' : 'Cancelling…');
    fetch(sheet.dataset.payUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prepay_id: sheet.dataset.prepayId, openid: sheet.dataset.openid, outcome: outcome })
    }).then(function (res) {
      return res.json().then(function (answer) {
        if (!res.ok) throw new Error(answer.error || 'HTTP ' + res.status);
        errMsg.textContent = 'wx.requestPayment callback: ' + answer.errMsg;
        if (answer.state === 'paid') {
          sheet.classList.add('done');
          actions.hidden = true;
          document.getElementById('state').textContent = 'SUCCESS';
          show('ok', answer.message);
        }
        else if (answer.state === 'cancelled') { enable(true); show('warn', answer.message); }
        else { actions.hidden = true; show('bad', answer.message); }
      });
    }).catch(function (err) {
      enable(true);
      show('bad', 'The simulator did not answer: ' + err.message);
    });
  }
  document.getElementById('pay').addEventListener('click', function () { decide('pay'); });
  document.getElementById('cancel').addEventListener('click', function () { decide('cancel'); });
})();
`;

const TRUST_NOTE = `<p class="note muted">This page stands in for WeChat's payment sheet and exists only in the
simulator. Like the real sheet, which trusts the signed-in WeChat user, it trusts the openid in its
address; the mini program's own wx.requestPayment goes through the paySign check instead.
<a href="${CONTROL_PREFIX}">Simulator dashboard</a></p>`;

/** The cashier when it cannot show an order at all (missing parameters, unknown prepay_id). */
export function renderCashierError(message: string): string {
  return layout(
    'WeChat Pay (simulated): cannot pay',
    `<main><div class="card sheet"><h1>Cannot open the payment</h1>
<p class="result bad" role="status" id="result">${escapeHtml(message)}</p></div>${TRUST_NOTE}</main>`,
    CASHIER_STYLE,
  );
}

/** WeChat's payment sheet for one prepay id, as the user `openid` sees it. */
export function renderCashier(checkout: CashierCheckout, openid: string): string {
  const { order, problem } = checkout;
  const yuan = formatYuan(order.totalFee);
  const details: Array<[label: string, value: string, id?: string]> = [
    ['Order no.', order.outTradeNo],
    ['Merchant no.', order.mchId],
    ['AppID', order.appId],
    ['Payer openid', openid],
    ['State', order.tradeState, 'state'],
    // The order's own deadline (its time_expire): the prepay id's 2 hours are an internal detail.
    ['Pay before', `${beijingTime(order.expiresAt)} (Beijing time)`, 'pay-before'],
  ];
  const controls = problem
    ? ''
    : `<div class="actions" id="actions">
<button type="button" class="pay" id="pay">Pay ¥${escapeHtml(yuan)}</button>
<button type="button" class="cancel" id="cancel">Cancel</button>
</div>`;
  const body = `<main>
<div class="card sheet" id="cashier" data-pay-url="${escapeHtml(`${CONTROL_PREFIX}cashier/pay`)}"
 data-prepay-id="${escapeHtml(checkout.prepayId)}" data-openid="${escapeHtml(openid)}">
<div class="muted">Pay to</div>
<div class="payee">Merchant ${escapeHtml(order.mchId)}</div>
<div class="amount"><small>¥</small><span id="amount">${escapeHtml(yuan)}</span></div>
<div class="desc" id="description">${escapeHtml(order.body)}</div>
<p class="result${problem ? ' bad' : ''}" role="status" id="result">${problem ? escapeHtml(PROBLEM_MESSAGES[problem]) : ''}</p>
${controls}
<dl>${details.map(([label, value, id]) => `<dt>${escapeHtml(label)}</dt><dd class="mono"${id ? ` id="${id}"` : ''}>${escapeHtml(value)}</dd>`).join('')}</dl>
<p class="mono muted" id="errmsg"></p>
</div>
${TRUST_NOTE}
</main>
<script>${CASHIER_SCRIPT}</script>`;
  return layout(`WeChat Pay (simulated): ¥${yuan}`, body, CASHIER_STYLE);
}
