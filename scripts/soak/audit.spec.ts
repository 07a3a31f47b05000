import type { SimulatedOrderView } from 'wechat-pay-v2-simulator';
import { audit, type RunFacts } from './audit';
import type { AuditSnapshot, OrderRow } from './database';
import { HttpTally } from './http';
import type { OrderRecord } from './load';
import { parseSoakOptions } from './options';

const T0 = 1_800_000_000_000;
const options = parseSoakOptions([], {})!;

function row(orderNo: string, changes: Partial<OrderRow> = {}): OrderRow {
  return {
    orderNo,
    status: 'UNPAID',
    amountFen: 990,
    transactionId: null,
    prepayId: `wx${orderNo}`,
    paidAt: null,
    paidVia: null,
    createdAt: T0,
    expiresAt: T0 + 360_000,
    closedAt: null,
    cancelRequestedAt: null,
    nextCheckAt: T0 + 5000,
    checkAttempts: 0,
    lastError: null,
    ...changes,
  };
}

const paidRow = (orderNo: string, paidAt: number, transactionId = `tx${orderNo}`) =>
  row(orderNo, { status: 'PAID', paidAt, paidVia: 'notify', transactionId });

function paidRecord(orderNo: string, sentAt: number): OrderRecord {
  return {
    orderNo,
    user: 'u',
    placedAt: sentAt - 100,
    fate: 'pay',
    createOutcome: '201',
    foundByListing: false,
    payRetries: 0,
    payment: { sentAt, okAt: sentAt + 5, transactionId: `tx${orderNo}`, totalFee: 990 },
    cancelOutcomes: [],
  };
}

function simOrder(
  orderNo: string,
  tradeState: SimulatedOrderView['tradeState'],
): SimulatedOrderView {
  return {
    outTradeNo: orderNo,
    tradeState,
    totalFee: 990,
    ...(tradeState === 'SUCCESS' && { transactionId: `tx${orderNo}` }),
  } as SimulatedOrderView;
}

function facts(
  orders: OrderRow[],
  records: OrderRecord[],
  simulatorOrders: SimulatedOrderView[],
  fulfilments: [string, number][] = orders
    .filter((o) => o.status === 'PAID')
    .map((o) => [o.orderNo, 1]),
  auditedAt = T0 + 200_000,
): RunFacts {
  const snapshot: AuditSnapshot = {
    orders,
    fulfilments: new Map(fulfilments),
    notificationOutcomes: {},
    notificationsPerOrder: new Map(),
    reviews: {},
  };
  return {
    options,
    startedAt: T0,
    loadEndedAt: T0 + 100_000,
    auditedAt,
    records: new Map(records.map((r) => [r.orderNo, r])),
    simulatorOrders,
    simulatorNotifications: [],
    snapshot,
    tally: new HttpTally(),
    probes: [],
    databaseKills: [],
    untrackedCheckouts: 0,
    pacerSkipped: 0,
    unexpectedExits: [],
    reconcilerPasses: [],
    errorLogLines: {},
    incomplete: [],
  };
}

describe('the soak audit', () => {
  it('passes a run where every payment WeChat took is recorded once, in time', () => {
    const report = audit(
      facts(
        [paidRow('A1', T0 + 1500), row('A2')],
        [paidRecord('A1', T0 + 1000)],
        [simOrder('A1', 'SUCCESS'), simOrder('A2', 'NOTPAY')],
      ),
    );
    expect(report.passed).toBe(true);
    expect(report.money).toMatchObject({ paidAtWechat: 1, recordedPaid: 1, lost: 0, falsePaid: 0 });
    expect(report.settleMs).toEqual({ count: 1, p50: 500, p95: 500, max: 500 });
  });

  it('counts a payment the database never recorded as lost and fails the run', () => {
    const report = audit(facts([row('A1')], [paidRecord('A1', T0)], [simOrder('A1', 'SUCCESS')]));
    expect(report.money.lost).toBe(1);
    expect(report.money.lostOrders).toEqual(['A1']);
    expect(report.passed).toBe(false);
  });

  it('counts a payment recorded after the settle deadline as lost', () => {
    const late = T0 + options.settleDeadlineS * 1000 + 1;
    const report = audit(facts([paidRow('A1', late)], [paidRecord('A1', T0)], []));
    expect(report.money.lost).toBe(1);
  });

  it('still knows a payment the simulator has evicted from what the user was told when paying', () => {
    const report = audit(facts([row('A1')], [paidRecord('A1', T0)], []));
    expect(report.money).toMatchObject({ paidAtWechat: 1, lost: 1, simulatorOrdersMissing: 1 });
  });

  it('takes a payment whose answer never reached the user from the simulator list', () => {
    const report = audit(facts([row('A1')], [], [simOrder('A1', 'SUCCESS')]));
    expect(report.money.paidAtWechat).toBe(1);
    expect(report.money.lost).toBe(1);
  });

  it('counts an order recorded paid that WeChat never took as false paid', () => {
    const report = audit(facts([paidRow('A1', T0)], [], [simOrder('A1', 'NOTPAY')]));
    expect(report.money.falsePaid).toBe(1);
    expect(report.failures).toContain('1 order(s) paid here but not at WeChat');
  });

  it('fails on a payment recorded with another transaction id', () => {
    const report = audit(
      facts(
        [paidRow('A1', T0 + 10, 'tx-other')],
        [paidRecord('A1', T0)],
        [simOrder('A1', 'SUCCESS')],
      ),
    );
    expect(report.money.mismatchedPayments).toBe(1);
    expect(report.passed).toBe(false);
  });

  it('fails on an order fulfilled twice and on a paid order never fulfilled', () => {
    const report = audit(
      facts(
        [paidRow('A1', T0 + 10), paidRow('A2', T0 + 10)],
        [paidRecord('A1', T0), paidRecord('A2', T0)],
        [],
        [['A1', 2]],
      ),
    );
    expect(report.money.doubleFulfilments).toBe(1);
    expect(report.money.paidWithoutFulfilment).toBe(1);
    expect(report.passed).toBe(false);
  });

  it('calls an unpaid order past expiry plus grace stuck, and says so only when one has expired', () => {
    const expiresAt = T0 + 360_000;
    const graceMs = options.expiryGraceS * 1000;
    const orders = [row('A1', { expiresAt }), row('A2', { expiresAt, status: 'CLOSED' })];
    expect(audit(facts(orders, [], [], [], expiresAt + graceMs - 1)).money.stuck).toBeNull();
    const after = audit(facts(orders, [], [], [], expiresAt + graceMs));
    expect(after.money).toMatchObject({ stuck: 1, expiredByAudit: 2 });
    expect(after.money.stuckOrders.map((o) => o.orderNo)).toEqual(['A1']);
    // Stuck is reported, not a money failure: the order cannot be paid any more.
    expect(after.failures).toEqual([]);
  });

  it('reports a run that paid nothing as incomplete rather than passed', () => {
    const report = audit(facts([row('A1')], [], [simOrder('A1', 'NOTPAY')]));
    expect(report.passed).toBe(false);
    expect(report.failures).toEqual([]);
    expect(report.incomplete).toHaveLength(1);
  });
});
