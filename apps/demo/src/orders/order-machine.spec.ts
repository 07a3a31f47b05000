import {
  isPaid,
  next,
  PAID_STATUSES,
  refundedStatus,
  ORDER_EVENTS,
  ORDER_STATES,
  paymentEvent,
  stateOf,
  storedStatus,
  type OrderEvent,
  type OrderState,
} from './order-machine';

/**
 * The expected table, written from the protocol (reference §3-§8) independently of the module:
 * `TO OUTCOME effect effect`, with `=` for "stays in the same state". `-` is IGNORED.
 */
// prettier-ignore
const EXPECTED: Record<OrderEvent, Record<OrderState, string>> = {
  PLACED: {
    NEW: 'UNPAID APPLIED insert', UNPAID: '-', CLOSING: '-', PAID: '-', PARTIALLY_REFUNDED: '-', REFUNDED: '-',
    CLOSED: '-',
  },
  PREPAY_OBTAINED: {
    NEW: '-', UNPAID: '= APPLIED savePrepay', CLOSING: '= APPLIED savePrepay',
    PAID: '= REFUSED', PARTIALLY_REFUNDED: '= REFUSED', REFUNDED: '= REFUSED',
    CLOSED: '= REFUSED',
  },
  PAID: {
    NEW: '= UNKNOWN_ORDER', UNPAID: 'PAID PAID fulfil', CLOSING: 'PAID PAID fulfil',
    PAID: '= DUPLICATE', PARTIALLY_REFUNDED: '= DUPLICATE', REFUNDED: '= DUPLICATE',
    CLOSED: 'PAID PAID_AFTER_CLOSE fulfil review',
  },
  AMOUNT_MISMATCH: {
    NEW: '= UNKNOWN_ORDER', UNPAID: '= AMOUNT_MISMATCH review stopChecks',
    CLOSING: '= AMOUNT_MISMATCH review stopChecks', PAID: '= AMOUNT_MISMATCH review',
    PARTIALLY_REFUNDED: '= AMOUNT_MISMATCH review', REFUNDED: '= AMOUNT_MISMATCH review',
    CLOSED: '= AMOUNT_MISMATCH review',
  },
  MERCHANT_MISMATCH: {
    NEW: '= UNKNOWN_ORDER', UNPAID: '= MERCHANT_MISMATCH review',
    CLOSING: '= MERCHANT_MISMATCH review', PAID: '= MERCHANT_MISMATCH review',
    PARTIALLY_REFUNDED: '= MERCHANT_MISMATCH review', REFUNDED: '= MERCHANT_MISMATCH review',
    CLOSED: '= MERCHANT_MISMATCH review',
  },
  PAID_AT_WECHAT: {
    NEW: '-', UNPAID: '= APPLIED query', CLOSING: '= APPLIED query', PAID: '-',
    PARTIALLY_REFUNDED: '-', REFUNDED: '-',
    CLOSED: '= APPLIED query',
  },
  NOT_PAID: {
    NEW: '-', UNPAID: '= APPLIED checkLater', CLOSING: '= APPLIED closeAtWechat', PAID: '-',
    PARTIALLY_REFUNDED: '-', REFUNDED: '-',
    CLOSED: '-',
  },
  NOT_AT_WECHAT: {
    NEW: '-', UNPAID: '= APPLIED checkLater', CLOSING: 'CLOSED APPLIED', PAID: '-', PARTIALLY_REFUNDED: '-', REFUNDED: '-',
    CLOSED: '-',
  },
  CLOSE_REQUESTED: {
    NEW: '-', UNPAID: 'CLOSING APPLIED rememberCancel closeAtWechat',
    CLOSING: '= APPLIED rememberCancel closeAtWechat', PAID: '= REFUSED', PARTIALLY_REFUNDED: '= REFUSED', REFUNDED: '= REFUSED',
    CLOSED: '-',
  },
  EXPIRED: {
    NEW: '-', UNPAID: 'CLOSING APPLIED closeAtWechat', CLOSING: '-', PAID: '-', PARTIALLY_REFUNDED: '-', REFUNDED: '-',
    CLOSED: '-',
  },
  CLOSED: {
    NEW: '-', UNPAID: 'CLOSED APPLIED', CLOSING: 'CLOSED APPLIED', PAID: '-', PARTIALLY_REFUNDED: '-', REFUNDED: '-',
    CLOSED: '-',
  },
};

function written(state: OrderState, event: OrderEvent): string {
  const step = next(state, event);
  if (step.outcome === 'IGNORED' && step.to === state && step.effects.length === 0) return '-';
  const to = step.to === state ? '=' : step.to;
  return [to, step.outcome, ...step.effects].join(' ');
}

const PAIRS = ORDER_STATES.flatMap((state) => ORDER_EVENTS.map((event) => [state, event] as const));

describe('the order state machine', () => {
  it('has an expectation for every state and event', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...ORDER_EVENTS].sort());
    for (const event of ORDER_EVENTS) {
      expect(Object.keys(EXPECTED[event]).sort()).toEqual([...ORDER_STATES].sort());
    }
  });

  it.each(PAIRS)('in %s, on %s, does what the protocol says', (state, event) => {
    expect(written(state, event)).toBe(EXPECTED[event][state]);
  });

  it('never leaves a paid state, fulfils only on the way into PAID, and never reaches NEW', () => {
    for (const [state, event] of PAIRS) {
      const step = next(state, event);
      // Payment events never move a paid order: only refunds move it between the paid states.
      if ((PAID_STATUSES as readonly string[]).includes(state)) expect(step.to).toBe(state);
      if (step.effects.includes('fulfil')) expect([state, step.to]).toEqual([state, 'PAID']);
      if (step.to === 'PAID' && state !== 'PAID') expect(step.effects).toContain('fulfil');
      if (state !== 'NEW') expect(step.to).not.toBe('NEW');
    }
  });

  it('refuses nothing and changes nothing that it also ignores', () => {
    for (const [state, event] of PAIRS) {
      const step = next(state, event);
      if (step.outcome === 'IGNORED' || step.outcome === 'REFUSED') {
        expect(step.to).toBe(state);
        expect(step.effects).toEqual([]);
      }
    }
  });
});

describe('stateOf', () => {
  const unpaid = { status: 'UNPAID' as const, cancelRequestedAt: null, expiresAt: 1_000 };

  it('is NEW without a row and the stored status for paid and closed orders', () => {
    expect(stateOf(undefined, 0)).toBe('NEW');
    expect(stateOf({ ...unpaid, status: 'PAID' }, 5_000)).toBe('PAID');
    expect(stateOf({ ...unpaid, status: 'CLOSED', cancelRequestedAt: 10 }, 0)).toBe('CLOSED');
  });

  it('is CLOSING for an unpaid order once its cancel is requested or its time has run out', () => {
    expect(stateOf(unpaid, 999)).toBe('UNPAID');
    expect(stateOf(unpaid, 1_000)).toBe('CLOSING');
    expect(stateOf({ ...unpaid, cancelRequestedAt: 10 }, 20)).toBe('CLOSING');
  });

  it('stores CLOSING as UNPAID and has no status for NEW', () => {
    expect(ORDER_STATES.map(storedStatus)).toEqual([
      undefined,
      'UNPAID',
      'UNPAID',
      'PAID',
      'PARTIALLY_REFUNDED',
      'REFUNDED',
      'CLOSED',
    ]);
  });
});

describe('refunded orders', () => {
  it('behave like PAID for every payment event', () => {
    for (const event of ORDER_EVENTS) {
      const paid = next('PAID', event);
      for (const state of ['PARTIALLY_REFUNDED', 'REFUNDED'] as const) {
        const step = next(state, event);
        expect({ ...step, to: step.to === state ? 'PAID' : step.to }).toEqual(paid);
      }
    }
  });

  it('take their status from the sum refunded successfully', () => {
    expect(refundedStatus(6800, 0)).toBe('PAID');
    expect(refundedStatus(6800, 1)).toBe('PARTIALLY_REFUNDED');
    expect(refundedStatus(6800, 6799)).toBe('PARTIALLY_REFUNDED');
    expect(refundedStatus(6800, 6800)).toBe('REFUNDED');
  });

  it('are paid orders; unpaid and closed ones are not', () => {
    expect(PAID_STATUSES.every(isPaid)).toBe(true);
    expect(isPaid('UNPAID')).toBe(false);
    expect(isPaid('CLOSED')).toBe(false);
  });
});

describe('paymentEvent', () => {
  const order = { appId: 'wx1', mchId: '1900', amountFen: 6800 };

  it('is PAID when the amount, appid and mch_id are the order’s', () => {
    expect(paymentEvent(order, { appId: 'wx1', mchId: '1900', totalFee: 6800 })).toBe('PAID');
  });

  it('is a merchant mismatch before an amount mismatch, whatever the amount', () => {
    expect(paymentEvent(order, { appId: 'wx2', mchId: '1900', totalFee: 1 })).toBe(
      'MERCHANT_MISMATCH',
    );
    expect(paymentEvent(order, { appId: 'wx1', mchId: '1901', totalFee: 6800 })).toBe(
      'MERCHANT_MISMATCH',
    );
    expect(paymentEvent(order, { appId: 'wx1', mchId: '1900', totalFee: 6801 })).toBe(
      'AMOUNT_MISMATCH',
    );
  });
});

describe('the payment of an unpaid order', () => {
  it('is the same step whether the order is UNPAID or CLOSING, so it can be written unread', () => {
    expect(next('CLOSING', 'PAID')).toEqual(next('UNPAID', 'PAID'));
    expect(next('UNPAID', 'PAID')).toEqual({ to: 'PAID', outcome: 'PAID', effects: ['fulfil'] });
  });
});
