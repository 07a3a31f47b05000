/**
 * Every state an order can be in and every event that moves it, in one table. Services read the
 * order, ask `next` what an event means in its state, and write the result with a conditional
 * update (`... WHERE id = ? AND status = <the status read>`): when it changes no row, another
 * writer moved the order first, and the service reads it again and asks again.
 *
 * UNPAID, PAID, PARTIALLY_REFUNDED, REFUNDED and CLOSED are stored in `orders.status`. CLOSING is
 * an unpaid order that has to be closed at WeChat (its cancel was requested, or its time_expire
 * passed); it is stored as UNPAID, because WeChat may still report it paid. NEW is an order number
 * the shop has no row for. A refunded order is still one that was paid: for payment events the two
 * refunded states behave exactly like PAID. Refunds move an order between the paid states by the
 * sum WeChat reports refunded (`refundedStatus`), in the same write as the refund's own change.
 */
export const ORDER_STATES = [
  'NEW',
  'UNPAID',
  'CLOSING',
  'PAID',
  'PARTIALLY_REFUNDED',
  'REFUNDED',
  'CLOSED',
] as const;
export type OrderState = (typeof ORDER_STATES)[number];
export type OrderStatus = Exclude<OrderState, 'NEW' | 'CLOSING'>;

/** The statuses of an order that was paid: the ones a refund may be taken from. */
export const PAID_STATUSES = ['PAID', 'PARTIALLY_REFUNDED', 'REFUNDED'] as const;
export type PaidStatus = (typeof PAID_STATUSES)[number];

export function isPaid(status: OrderStatus): status is PaidStatus {
  return (PAID_STATUSES as readonly string[]).includes(status);
}

/** The paid status an order has once `refundedFen` of its `amountFen` came back successfully. */
export function refundedStatus(amountFen: number, refundedFen: number): PaidStatus {
  if (refundedFen <= 0) return 'PAID';
  return refundedFen >= amountFen ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
}

export const ORDER_EVENTS = [
  /** POST /api/orders: the row is written before WeChat hears of the order. */
  'PLACED',
  /** unifiedorder answered a prepay_id. */
  'PREPAY_OBTAINED',
  /** WeChat reports the payment, with our amount, appid and mch_id (notification, orderquery). */
  'PAID',
  /** WeChat reports a payment of another amount. */
  'AMOUNT_MISMATCH',
  /** WeChat reports a payment for another appid or mch_id. */
  'MERCHANT_MISMATCH',
  /** err_code ORDERPAID (closeorder, unifiedorder): paid, but the answer carries no payment. */
  'PAID_AT_WECHAT',
  /** orderquery: NOTPAY, USERPAYING or PAYERROR, so the order can still be paid. */
  'NOT_PAID',
  /** err_code ORDERNOTEXIST: WeChat never created the order (its unifiedorder failed). */
  'NOT_AT_WECHAT',
  /** The user cancelled the order. */
  'CLOSE_REQUESTED',
  /** time_expire passed with the order unpaid. */
  'EXPIRED',
  /** WeChat closed the order: closeorder SUCCESS, err_code ORDERCLOSED, trade_state CLOSED or REVOKED. */
  'CLOSED',
] as const;
export type OrderEvent = (typeof ORDER_EVENTS)[number];

/** What follows a step, besides the new state. */
export type Effect =
  | 'insert' // write the order row
  | 'savePrepay' // keep the prepay_id for the next pay request
  | 'fulfil' // one fulfilment row (its order_id is unique)
  | 'review' // a payment_reviews row for a person (one per order, kind and transaction)
  | 'stopChecks' // asking WeChat again cannot change the amount: stop the reconciler's checks
  | 'rememberCancel' // cancel_requested_at, so the reconciler closes the order if WeChat cannot now
  | 'closeAtWechat' // call closeorder
  | 'query' // call orderquery for the payment's details
  | 'checkLater'; // the reconciler asks orderquery again on its back-off

/**
 * APPLIED: the event changes the order or calls for an effect. IGNORED: nothing to do in this
 * state. REFUSED: the request makes no sense in this state (the caller answers a conflict). Payment
 * events name their outcome, as it is stored with the notification.
 */
export type StepOutcome =
  | 'APPLIED'
  | 'IGNORED'
  | 'REFUSED'
  | 'PAID'
  | 'PAID_AFTER_CLOSE'
  | 'DUPLICATE'
  | 'UNKNOWN_ORDER'
  | 'AMOUNT_MISMATCH'
  | 'MERCHANT_MISMATCH';

export interface Step {
  readonly to: OrderState;
  readonly outcome: StepOutcome;
  readonly effects: readonly Effect[];
}

const go = (to: OrderState, outcome: StepOutcome, ...effects: Effect[]): Step => ({
  to,
  outcome,
  effects,
});

/** What an event does to a paid order, whatever its refunds: the order stays in `state`. */
function paidRow(state: PaidStatus): Partial<Record<OrderEvent, Step>> {
  // prettier-ignore
  return {
    PREPAY_OBTAINED:   go(state, 'REFUSED'),
    PAID:              go(state, 'DUPLICATE'),
    AMOUNT_MISMATCH:   go(state, 'AMOUNT_MISMATCH', 'review'),
    MERCHANT_MISMATCH: go(state, 'MERCHANT_MISMATCH', 'review'),
    CLOSE_REQUESTED:   go(state, 'REFUSED'),
  };
}

// Each row names what an event does in that state; every pair not listed is IGNORED.
// prettier-ignore
const TABLE: Record<OrderState, Partial<Record<OrderEvent, Step>>> = {
  NEW: {
    PLACED:            go('UNPAID', 'APPLIED', 'insert'),
    PAID:              go('NEW', 'UNKNOWN_ORDER'),
    AMOUNT_MISMATCH:   go('NEW', 'UNKNOWN_ORDER'),
    MERCHANT_MISMATCH: go('NEW', 'UNKNOWN_ORDER'),
  },
  UNPAID: {
    PREPAY_OBTAINED:   go('UNPAID', 'APPLIED', 'savePrepay'),
    PAID:              go('PAID', 'PAID', 'fulfil'),
    AMOUNT_MISMATCH:   go('UNPAID', 'AMOUNT_MISMATCH', 'review', 'stopChecks'),
    MERCHANT_MISMATCH: go('UNPAID', 'MERCHANT_MISMATCH', 'review'),
    PAID_AT_WECHAT:    go('UNPAID', 'APPLIED', 'query'),
    NOT_PAID:          go('UNPAID', 'APPLIED', 'checkLater'),
    NOT_AT_WECHAT:     go('UNPAID', 'APPLIED', 'checkLater'),
    CLOSE_REQUESTED:   go('CLOSING', 'APPLIED', 'rememberCancel', 'closeAtWechat'),
    EXPIRED:           go('CLOSING', 'APPLIED', 'closeAtWechat'),
    CLOSED:            go('CLOSED', 'APPLIED'),
  },
  CLOSING: {
    PREPAY_OBTAINED:   go('CLOSING', 'APPLIED', 'savePrepay'),
    PAID:              go('PAID', 'PAID', 'fulfil'),
    AMOUNT_MISMATCH:   go('CLOSING', 'AMOUNT_MISMATCH', 'review', 'stopChecks'),
    MERCHANT_MISMATCH: go('CLOSING', 'MERCHANT_MISMATCH', 'review'),
    PAID_AT_WECHAT:    go('CLOSING', 'APPLIED', 'query'),
    NOT_PAID:          go('CLOSING', 'APPLIED', 'closeAtWechat'),
    NOT_AT_WECHAT:     go('CLOSED', 'APPLIED'),
    CLOSE_REQUESTED:   go('CLOSING', 'APPLIED', 'rememberCancel', 'closeAtWechat'),
    CLOSED:            go('CLOSED', 'APPLIED'),
  },
  PAID: paidRow('PAID'),
  PARTIALLY_REFUNDED: paidRow('PARTIALLY_REFUNDED'),
  REFUNDED: paidRow('REFUNDED'),
  CLOSED: {
    PREPAY_OBTAINED:   go('CLOSED', 'REFUSED'),
    // The user paid just before the close reached WeChat: the money is real, so the order is
    // fulfilled, and a person is told.
    PAID:              go('PAID', 'PAID_AFTER_CLOSE', 'fulfil', 'review'),
    AMOUNT_MISMATCH:   go('CLOSED', 'AMOUNT_MISMATCH', 'review'),
    MERCHANT_MISMATCH: go('CLOSED', 'MERCHANT_MISMATCH', 'review'),
    PAID_AT_WECHAT:    go('CLOSED', 'APPLIED', 'query'),
  },
};

/** What `event` does to an order in `state`. */
export function next(state: OrderState, event: OrderEvent): Step {
  return TABLE[state][event] ?? go(state, 'IGNORED');
}

/** The state of an order row (undefined: no row), at `now` (epoch ms). */
export function stateOf(
  order: { status: OrderStatus; cancelRequestedAt: number | null; expiresAt: number } | undefined,
  now: number,
): OrderState {
  if (!order) return 'NEW';
  if (order.status !== 'UNPAID') return order.status;
  return order.cancelRequestedAt !== null || now >= order.expiresAt ? 'CLOSING' : 'UNPAID';
}

/** The orders.status a state is stored as; undefined for NEW, which has no row. */
export function storedStatus(state: OrderState): OrderStatus | undefined {
  if (state === 'NEW') return undefined;
  return state === 'CLOSING' ? 'UNPAID' : state;
}

/**
 * What a reported payment must share with the order to be its PAID event: the order's field and
 * the report's, merchant first (another merchant's payment is that, whatever its amount).
 */
export const PAYMENT_MATCH = [
  { order: 'appId', reported: 'appId', otherwise: 'MERCHANT_MISMATCH' },
  { order: 'mchId', reported: 'mchId', otherwise: 'MERCHANT_MISMATCH' },
  { order: 'amountFen', reported: 'totalFee', otherwise: 'AMOUNT_MISMATCH' },
] as const;

/** Which payment event WeChat's report is, checked against the order it names. */
export function paymentEvent(
  order: { appId: string; mchId: string; amountFen: number },
  reported: { appId: string; mchId: string; totalFee: number },
): 'PAID' | 'AMOUNT_MISMATCH' | 'MERCHANT_MISMATCH' {
  for (const match of PAYMENT_MATCH) {
    if (order[match.order] !== reported[match.reported]) return match.otherwise;
  }
  return 'PAID';
}
