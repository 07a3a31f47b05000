import type { BillType } from '../bills';
import { CONTROL_PREFIX, parseJson } from '../control-api';
import {
  SimulatorControlError,
  type CashierPaymentInput,
  type SimulatorControls,
} from '../controls';
import { cashierReply, PROBLEM_MESSAGES, renderCashier, renderCashierError } from './cashier';
import { DASHBOARD_LIVE_PATH, renderDashboard, renderDashboardLive } from './dashboard';
import { layout } from './html';

export interface PageReply {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

const HTML = 'text/html; charset=utf-8';
/** Pages show live state, so a browser must never answer from its cache. */
const html = (status: number, body: string): PageReply => ({
  status,
  contentType: HTML,
  body,
  headers: { 'Cache-Control': 'no-store' },
});
const json = (status: number, value: unknown): PageReply => ({
  status,
  contentType: 'application/json; charset=utf-8',
  body: JSON.stringify(value),
});
/** A bill as a browser can open and save it: the text downloadbill serves, never cached. */
const plain = (status: number, body: string): PageReply => ({
  status,
  contentType: 'text/plain; charset=utf-8',
  body,
  headers: { 'Cache-Control': 'no-store' },
});
const onlyGet = () =>
  html(405, layout('Method not allowed', `<main><p>Use GET for this page.</p></main>`));

/**
 * The browser pages under /__simulator/: the dashboard, the cashier and the cashier's Pay/Cancel
 * endpoint. Answers undefined for every other path, which the JSON control API then handles.
 */
export function servePage(
  controls: SimulatorControls,
  method: string,
  url: URL,
  body: Buffer,
): PageReply | undefined {
  const path = url.pathname;
  if (path === CONTROL_PREFIX.slice(0, -1)) {
    return { ...html(308, ''), headers: { Location: CONTROL_PREFIX, 'Cache-Control': 'no-store' } };
  }
  if (path === CONTROL_PREFIX) {
    return method === 'GET' ? html(200, renderDashboard(controls)) : onlyGet();
  }
  if (path === DASHBOARD_LIVE_PATH) {
    return method === 'GET' ? html(200, renderDashboardLive(controls)) : onlyGet();
  }
  if (path === `${CONTROL_PREFIX}cashier`) {
    if (method !== 'GET') return onlyGet();
    const prepayId = url.searchParams.get('prepay_id') ?? '';
    const openid = url.searchParams.get('openid') ?? '';
    if (prepayId === '' || openid === '') {
      return html(400, renderCashierError('The address needs both prepay_id and openid.'));
    }
    const checkout = controls.checkout(prepayId, openid);
    if (!checkout) return html(404, renderCashierError(PROBLEM_MESSAGES['unknown-prepay']));
    return html(200, renderCashier(checkout, openid));
  }
  if (path.startsWith(`${CONTROL_PREFIX}bills/`)) {
    if (method !== 'GET') return onlyGet();
    try {
      const text = controls.bill({
        date: decodeURIComponent(path.slice(`${CONTROL_PREFIX}bills/`.length)),
        mchId: url.searchParams.get('mchId') ?? undefined,
        billType: (url.searchParams.get('billType') ?? undefined) as BillType | undefined,
      });
      if (text === undefined) return plain(404, 'No Bill Exist\n');
      return plain(200, text);
    } catch (err) {
      if (err instanceof SimulatorControlError || err instanceof URIError) {
        return plain(400, `${err.message}\n`);
      }
      throw err;
    }
  }
  if (path === `${CONTROL_PREFIX}cashier/pay`) {
    if (method !== 'POST') return json(405, { error: 'use POST' });
    try {
      const input = parseJson(body);
      const answer = controls.payAtCashier({
        prepayId: input.prepay_id as string,
        openid: input.openid as string,
        outcome: input.outcome as 'pay' | 'cancel',
        ...(input.coupon !== undefined && {
          coupon: input.coupon as CashierPaymentInput['coupon'],
        }),
      });
      return json(200, cashierReply(answer));
    } catch (err) {
      if (err instanceof SimulatorControlError) return json(400, { error: err.message });
      throw err;
    }
  }
  return undefined;
}
