import {
  SimulatorControlError,
  type RequestPaymentInput,
  type SimulatorControls,
} from './controls';

export const CONTROL_PREFIX = '/__simulator/';

export interface JsonReply {
  status: number;
  body: unknown;
}

const ok = (body: unknown): JsonReply => ({ status: 200, body });
const error = (status: number, message: string): JsonReply => ({
  status,
  body: { error: message },
});

/** A control body: empty means {}, anything but a JSON object is the caller's mistake. */
export function parseJson(raw: Buffer): Record<string, unknown> {
  const text = raw.toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SimulatorControlError('the body must be JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SimulatorControlError('the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/**
 * The control surface under /__simulator/ (JSON in, JSON out). Outside WeChat's paths on purpose:
 * a client pointed at the simulator can never reach it by accident.
 */
export function handleControl(
  controls: SimulatorControls,
  method: string,
  url: URL,
  body: Buffer,
): JsonReply {
  const route = url.pathname.slice(CONTROL_PREFIX.length);
  try {
    if (route === 'login') {
      if (method !== 'POST') return error(405, 'use POST');
      return ok(controls.login(parseJson(body)));
    }
    if (route === 'request-payment') {
      if (method !== 'POST') return error(405, 'use POST');
      return ok(controls.requestPayment(parseJson(body) as unknown as RequestPaymentInput));
    }
    if (route === 'faults') {
      if (method === 'GET') return ok(controls.faults());
      if (method === 'POST') return ok(controls.setFaults(parseJson(body)));
      if (method === 'DELETE') return ok(controls.resetFaults());
      return error(405, 'use GET, POST or DELETE');
    }
    if (route === 'orders') {
      if (method !== 'GET') return error(405, 'use GET');
      return ok(controls.orders());
    }
    if (route.startsWith('orders/')) {
      if (method !== 'GET') return error(405, 'use GET');
      const outTradeNo = decodeURIComponent(route.slice('orders/'.length));
      const order = controls.order(outTradeNo);
      return order ? ok(order) : error(404, 'no order with this out_trade_no');
    }
    if (route === 'notifications') {
      if (method !== 'GET') return error(405, 'use GET');
      return ok(controls.notifications(url.searchParams.get('outTradeNo') ?? undefined));
    }
    if (route === 'refunds') {
      if (method !== 'GET') return error(405, 'use GET');
      return ok(controls.refunds(url.searchParams.get('outTradeNo') ?? undefined));
    }
    const finish = /^refunds\/([^/]+)\/finish$/.exec(route);
    if (finish) {
      if (method !== 'POST') return error(405, 'use POST');
      const { status } = parseJson(body);
      return ok(
        controls.finishRefund(
          decodeURIComponent(finish[1]),
          (status ?? 'SUCCESS') as Parameters<SimulatorControls['finishRefund']>[1],
        ),
      );
    }
    if (route.startsWith('refunds/')) {
      if (method !== 'GET') return error(405, 'use GET');
      const refund = controls.refund(decodeURIComponent(route.slice('refunds/'.length)));
      return refund ? ok(refund) : error(404, 'no refund with this refund_id or out_refund_no');
    }
    if (route === 'refund-notifications') {
      if (method !== 'GET') return error(405, 'use GET');
      return ok(controls.refundNotifications(url.searchParams.get('outRefundNo') ?? undefined));
    }
    if (route === 'bills') {
      if (method !== 'GET') return error(405, 'use GET');
      return ok(controls.bills());
    }
    if (route === 'stats') {
      if (method !== 'GET') return error(405, 'use GET');
      return ok(controls.stats());
    }
    if (route === 'clock') {
      if (method === 'GET') return ok({ now: controls.now().toISOString() });
      if (method !== 'POST') return error(405, 'use GET or POST');
      const { advanceMs, to } = parseJson(body);
      if (to !== undefined) {
        if (typeof to !== 'string') return error(400, 'to must be a Beijing time yyyyMMddHHmmss');
        return ok({ now: controls.advanceClockTo(to).toISOString() });
      }
      if (typeof advanceMs !== 'number') return error(400, 'advanceMs must be a number');
      return ok({ now: controls.advanceClock(advanceMs).toISOString() });
    }
    return error(404, 'unknown control endpoint');
  } catch (err) {
    if (err instanceof SimulatorControlError || err instanceof URIError)
      return error(400, err.message);
    throw err;
  }
}
