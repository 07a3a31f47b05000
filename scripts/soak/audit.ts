import type { NotificationAttempt, SimulatedOrderView } from 'wechat-pay-v2-simulator';
import type { CopiesResult } from './copies';
import type { AuditSnapshot, OrderRow } from './database';
import type { HttpTally } from './http';
import type { OrderRecord } from './load';
import type { NetworkStats } from './network-process';
import type { SoakOptions } from './options';
import type { ProbeResult, Recovery } from './prober';

/** Everything the run saw, handed to the audit once the instances are stopped. */
export interface RunFacts {
  options: SoakOptions;
  startedAt: number;
  loadEndedAt: number;
  auditedAt: number;
  records: Map<string, OrderRecord>;
  /** The simulator's order list at the end; it may lack orders it evicted. */
  simulatorOrders: SimulatedOrderView[];
  simulatorNotifications: NotificationAttempt[];
  snapshot: AuditSnapshot;
  tally: HttpTally;
  probes: ProbeResult[];
  kill9?: { instance: string; killedAt: number; restartedAt?: number; readyAt?: number };
  databaseKills: { at: number; terminated: number; recoveries: Recovery[] }[];
  partition?: { hangAt: number; refuseAt: number; openAt: number };
  copies?: CopiesResult;
  untrackedCheckouts: number;
  pacerSkipped: number;
  unexpectedExits: { instance: string; at: number; code: number | null; signal: string | null }[];
  reconcilerPasses: { instance: string; claimed: number; durationMs: number }[];
  errorLogLines: Record<string, number>;
  network?: NetworkStats;
  /** Things the run set out to do and could not. */
  incomplete: string[];
}

export interface Spread {
  count: number;
  p50?: number;
  p95?: number;
  max?: number;
}

function spread(values: number[]): Spread {
  if (values.length === 0) return { count: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] };
}

function tally(keys: Iterable<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of keys) out[key] = (out[key] ?? 0) + 1;
  return out;
}

const SAMPLE = 20;

export interface SoakReport {
  passed: boolean;
  failures: string[];
  incomplete: string[];
  run: Record<string, unknown>;
  money: {
    ordersPlaced: number;
    paidAtWechat: number;
    recordedPaid: number;
    lost: number;
    lostOrders: string[];
    falsePaid: number;
    falsePaidOrders: string[];
    mismatchedPayments: number;
    doubleFulfilments: number;
    paidWithoutFulfilment: number;
    fulfilledButNotPaid: number;
    stuck: number | null;
    /** Why each is still open: the reconciler's next check and last error. */
    stuckOrders: {
      orderNo: string;
      pastExpiryS: number;
      nextCheckInS: number | null;
      checkAttempts: number;
      cancelRequested: boolean;
      lastError: string | null;
    }[];
    expiredByAudit: number;
    unpaidPastExpiry: number;
    wechatOrdersUnknownHere: number;
    simulatorOrdersMissing: number;
  };
  settleMs: Spread;
  clientSawPaidMs: Spread & { neverWithinPolls: number };
  paidVia: Record<string, number>;
  orderStates: Record<string, number>;
  http: {
    status500: number;
    status500ByRoute: Record<string, number>;
    status500ByWindow: Record<string, number>;
    /** Every 500 (the first 100): seconds into the run, route, instance. */
    status500At: { atS: number; route: string; instance?: string }[];
    byRoute: Record<string, Record<string, number>>;
  };
  health: {
    probes: number;
    status503: number;
    unreachable: number;
    byOutcome: Record<string, number>;
    status503ByWindow: Record<string, number>;
    status503Reasons: Record<string, number>;
  };
  outages: {
    kill9?: {
      instance: string;
      atS: number;
      downForS?: number;
      readyAfterRestartS?: number;
    };
    databaseKills: {
      atS: number;
      terminated: number;
      recoveryMs: Record<string, number | null>;
      answersBeforeRecovery: Record<string, string>;
      status500Within10s: number;
    }[];
    partition?: {
      fromS: number;
      hangS: number;
      refuseS: number;
      ordersPlaced: number;
      ended: Record<string, number>;
      neverReachedWechat: number;
      paidAfterRetry: number;
      checkoutAnswers: Record<string, number>;
      health503During: number;
      health503After: number;
      /** Per instance: first /health 503 after the partition began, first 200 after it ended. */
      healthPerInstance: Record<
        string,
        { first503IntoS: number | null; back200AfterS: number | null }
      >;
    };
  };
  copies?: CopiesResult & { fulfilments: number; storedNotifications: number };
  notifications: {
    sends: number;
    byOutcome: Record<string, number>;
    byReply: Record<string, number>;
    storedByOutcome: Record<string, number>;
    reviews: Record<string, number>;
  };
  cancels: {
    requested: number;
    firstAnswers: Record<string, number>;
    ended: Record<string, number>;
    forgotten: number;
  };
  clients: {
    untrackedCheckouts: number;
    gaveUpPaying: number;
    paymentsRefused: Record<string, number>;
    paceSkipped: number;
  };
  reconciler: { passes: number; maxPassMs: number | null; passesOverLease: number };
  instances: {
    unexpectedExits: RunFacts['unexpectedExits'];
    errorLogLines: Record<string, number>;
  };
  network?: NetworkStats;
}

interface Window {
  name: string;
  from: number;
  to: number;
}

function windows(facts: RunFacts): Window[] {
  const out: Window[] = [];
  if (facts.kill9)
    out.push({
      name: 'kill -9',
      from: facts.kill9.killedAt,
      to: (facts.kill9.readyAt ?? facts.kill9.killedAt) + 2000,
    });
  facts.databaseKills.forEach((k, i) => {
    const recovered = Math.max(0, ...k.recoveries.map((r) => r.recoveredAfterMs ?? 10_000));
    out.push({ name: `database kill ${i + 1}`, from: k.at, to: k.at + recovered + 2000 });
  });
  if (facts.partition)
    out.push({
      name: 'partition (+10 s)',
      from: facts.partition.hangAt,
      to: facts.partition.openAt + 10_000,
    });
  return out;
}

function byWindow(times: number[], all: Window[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of times) {
    const w = all.find((x) => t >= x.from && t <= x.to);
    const key = w?.name ?? 'outside the outages';
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

export function audit(facts: RunFacts): SoakReport {
  const { options, snapshot } = facts;
  const rows = new Map(snapshot.orders.map((o) => [o.orderNo, o]));
  const sec = (t: number) => Math.round((t - facts.startedAt) / 100) / 10;

  // WeChat's view: what the users were told when they paid, plus the simulator's list (which
  // also covers a payment whose answer was lost on the way back).
  const wechat = new Map<string, { sentAt?: number; transactionId?: string; totalFee?: number }>();
  for (const r of facts.records.values()) {
    if (r.payment)
      wechat.set(r.orderNo, {
        sentAt: r.payment.sentAt,
        transactionId: r.payment.transactionId,
        totalFee: r.payment.totalFee,
      });
  }
  const simulatorByNo = new Map(facts.simulatorOrders.map((o) => [o.outTradeNo, o]));
  for (const o of facts.simulatorOrders) {
    // A refunded order was paid first; the simulator may grow that state.
    const state: string = o.tradeState;
    if (state !== 'SUCCESS' && state !== 'REFUND') continue;
    const known = wechat.get(o.outTradeNo) ?? {};
    wechat.set(o.outTradeNo, {
      ...known,
      transactionId: known.transactionId ?? o.transactionId,
      totalFee: known.totalFee ?? o.totalFee,
    });
  }

  const deadlineMs = options.settleDeadlineS * 1000;
  const lost: string[] = [];
  const mismatched: string[] = [];
  const settle: number[] = [];
  for (const [orderNo, paid] of wechat) {
    const row = rows.get(orderNo);
    if (!row || row.status !== 'PAID' || row.paidAt === null) {
      lost.push(orderNo);
      continue;
    }
    if (paid.sentAt !== undefined) {
      const ms = row.paidAt - paid.sentAt;
      settle.push(ms);
      if (ms > deadlineMs) lost.push(orderNo);
    }
    if (
      (paid.transactionId !== undefined && paid.transactionId !== row.transactionId) ||
      (paid.totalFee !== undefined && paid.totalFee !== row.amountFen)
    )
      mismatched.push(orderNo);
  }
  const paidRows = snapshot.orders.filter((o) => o.status === 'PAID');
  const falsePaid = paidRows.filter((o) => !wechat.has(o.orderNo)).map((o) => o.orderNo);
  const fulfilmentsOf = (orderNo: string) => snapshot.fulfilments.get(orderNo) ?? 0;
  const doubles = [...snapshot.fulfilments].filter(([, n]) => n > 1).length;
  const unfulfilled = paidRows.filter((o) => fulfilmentsOf(o.orderNo) === 0).length;
  const fulfilledNotPaid = [...snapshot.fulfilments.keys()].filter(
    (no) => rows.get(no)?.status !== 'PAID',
  ).length;

  const graceMs = options.expiryGraceS * 1000;
  const expired = snapshot.orders.filter((o) => o.expiresAt + graceMs <= facts.auditedAt);
  const stuck = expired.filter((o) => o.status === 'UNPAID');
  const unpaidPastExpiry = snapshot.orders.filter(
    (o) => o.status === 'UNPAID' && o.expiresAt <= facts.auditedAt,
  ).length;

  const failures: string[] = [];
  if (lost.length) failures.push(`${lost.length} payment(s) lost`);
  if (falsePaid.length) failures.push(`${falsePaid.length} order(s) paid here but not at WeChat`);
  if (mismatched.length)
    failures.push(`${mismatched.length} order(s) recorded with another transaction or amount`);
  if (doubles) failures.push(`${doubles} order(s) fulfilled more than once`);
  if (unfulfilled) failures.push(`${unfulfilled} paid order(s) without a fulfilment`);
  if (fulfilledNotPaid) failures.push(`${fulfilledNotPaid} fulfilment(s) of orders not paid`);
  const incomplete = [...facts.incomplete];
  if (wechat.size === 0)
    incomplete.push('no order was paid: the money checks had nothing to check');

  const all = windows(facts);
  // The notify route is called by WeChat, not by the users: its 500s are in the simulator's log.
  const notify500 = facts.simulatorNotifications
    .filter((n) => n.status === 500)
    .map((n) => ({ at: Date.parse(n.sentAt), route: 'POST /wechat-pay/notify (from WeChat)' }));
  const errors500: { at: number; route: string; upstream?: string }[] = [
    ...facts.tally.serverErrors.filter((e) => e.status === 500),
    ...notify500,
  ];
  const probes = facts.probes;
  const probes503 = probes.filter((p) => p.outcome === '503');

  const sawPaid = [...facts.records.values()].filter((r) => r.payment);
  const clientSaw = sawPaid
    .filter((r) => r.sawPaidAt !== undefined && r.payment)
    .map((r) => (r.sawPaidAt as number) - (r.payment as { sentAt: number }).sentAt);

  const cancels = [...facts.records.values()].filter((r) => r.fate === 'cancel');
  const cancelEnd = (r: OrderRecord) => {
    const row = rows.get(r.orderNo);
    if (!row) return 'no row';
    if (row.status !== 'UNPAID') return row.status;
    return row.cancelRequestedAt !== null
      ? 'UNPAID, cancel recorded'
      : 'UNPAID, no cancel recorded';
  };
  const forgotten = cancels.filter(
    (r) =>
      r.cancelOutcomes.length > 0 &&
      r.cancelOutcomes.every((o) => !/^(2\d\d)$/.test(o)) &&
      cancelEnd(r) === 'UNPAID, no cancel recorded',
  ).length;

  let partition: SoakReport['outages']['partition'];
  if (facts.partition) {
    const p = facts.partition;
    const placed = snapshot.orders.filter((o) => o.createdAt >= p.hangAt && o.createdAt < p.openAt);
    const after503 = probes503.filter((x) => x.at >= p.openAt && x.at <= p.openAt + 120_000);
    partition = {
      fromS: sec(p.hangAt),
      hangS: Math.round((p.refuseAt - p.hangAt) / 100) / 10,
      refuseS: Math.round((p.openAt - p.refuseAt) / 100) / 10,
      ordersPlaced: placed.length,
      ended: tally(placed.map((o) => o.status)),
      neverReachedWechat: placed.filter((o) => !simulatorByNo.has(o.orderNo) && o.prepayId === null)
        .length,
      paidAfterRetry: placed.filter(
        (o) => o.status === 'PAID' && (facts.records.get(o.orderNo)?.payRetries ?? 0) > 0,
      ).length,
      checkoutAnswers: tally(
        [...facts.records.values()]
          .filter((r) => r.placedAt >= p.hangAt && r.placedAt < p.openAt)
          .map((r) => r.createOutcome),
      ),
      health503During: probes503.filter((x) => x.at >= p.hangAt && x.at < p.openAt).length,
      health503After: after503.length,
      healthPerInstance: Object.fromEntries(
        [...new Set(probes.map((x) => x.instance))].map((name) => {
          const mine = probes.filter((x) => x.instance === name);
          const first503 = mine.find((x) => x.at >= p.hangAt && x.outcome === '503');
          const backTo200 = mine.find((x) => x.at >= p.openAt && x.outcome === '200');
          return [
            name,
            {
              first503IntoS: first503 ? Math.round((first503.at - p.hangAt) / 100) / 10 : null,
              back200AfterS: backTo200 ? Math.round((backTo200.at - p.openAt) / 100) / 10 : null,
            },
          ];
        }),
      ),
    };
  }

  const copyRows = facts.copies ? facts.copies.orderNo : undefined;
  const passes = facts.reconcilerPasses;

  return {
    passed: failures.length === 0 && incomplete.length === 0,
    failures,
    incomplete,
    run: {
      database: options.database,
      instances: options.instances,
      users: options.users,
      loadS: options.durationS,
      ordersTarget: options.orders,
      timeScale: options.timeScale,
      dropRate: options.dropRate,
      systemErrorRate: options.systemErrorRate,
      settleDeadlineS: options.settleDeadlineS,
      expiryGraceS: options.expiryGraceS,
      orderTtlMinutes: options.orderTtlMinutes,
      startedAt: new Date(facts.startedAt).toISOString(),
      totalS: sec(facts.auditedAt),
    },
    money: {
      ordersPlaced: snapshot.orders.length,
      paidAtWechat: wechat.size,
      recordedPaid: paidRows.length,
      lost: lost.length,
      lostOrders: lost.slice(0, SAMPLE),
      falsePaid: falsePaid.length,
      falsePaidOrders: falsePaid.slice(0, SAMPLE),
      mismatchedPayments: mismatched.length,
      doubleFulfilments: doubles,
      paidWithoutFulfilment: unfulfilled,
      fulfilledButNotPaid: fulfilledNotPaid,
      stuck: expired.length ? stuck.length : null,
      stuckOrders: stuck.slice(0, SAMPLE).map((o) => ({
        orderNo: o.orderNo,
        pastExpiryS: Math.round((facts.auditedAt - o.expiresAt) / 1000),
        nextCheckInS:
          o.nextCheckAt === null ? null : Math.round((o.nextCheckAt - facts.auditedAt) / 1000),
        checkAttempts: o.checkAttempts,
        cancelRequested: o.cancelRequestedAt !== null,
        lastError: o.lastError,
      })),
      expiredByAudit: expired.length,
      unpaidPastExpiry,
      wechatOrdersUnknownHere: facts.simulatorOrders.filter((o) => !rows.has(o.outTradeNo)).length,
      simulatorOrdersMissing: [...wechat.keys()].filter((no) => !simulatorByNo.has(no)).length,
    },
    settleMs: spread(settle),
    clientSawPaidMs: { ...spread(clientSaw), neverWithinPolls: sawPaid.length - clientSaw.length },
    paidVia: tally(paidRows.map((o) => o.paidVia ?? 'unknown')),
    orderStates: tally(snapshot.orders.map((o: OrderRow) => o.status)),
    http: {
      status500: errors500.length,
      status500ByRoute: tally(errors500.map((e) => e.route)),
      status500ByWindow: byWindow(
        errors500.map((e) => e.at),
        all,
      ),
      status500At: [...errors500]
        .sort((a, b) => a.at - b.at)
        .slice(0, 100)
        .map((e) => ({
          atS: sec(e.at),
          route: e.route,
          ...(e.upstream !== undefined && { instance: e.upstream }),
        })),
      byRoute: Object.fromEntries(
        [...facts.tally.byRoute].map(([route, outcomes]) => [route, Object.fromEntries(outcomes)]),
      ),
    },
    health: {
      probes: probes.length,
      status503: probes503.length,
      unreachable: probes.filter((p) => p.outcome.startsWith('no answer')).length,
      byOutcome: tally(probes.map((p) => p.outcome)),
      status503ByWindow: byWindow(
        probes503.map((p) => p.at),
        all,
      ),
      status503Reasons: tally(
        probes503.map((p) => `database ${p.database ?? '?'}, gateway ${p.gateway ?? '?'}`),
      ),
    },
    outages: {
      ...(facts.kill9 && {
        kill9: {
          instance: facts.kill9.instance,
          atS: sec(facts.kill9.killedAt),
          ...(facts.kill9.readyAt !== undefined && {
            downForS: Math.round((facts.kill9.readyAt - facts.kill9.killedAt) / 100) / 10,
          }),
          ...(facts.kill9.readyAt !== undefined &&
            facts.kill9.restartedAt !== undefined && {
              readyAfterRestartS:
                Math.round((facts.kill9.readyAt - facts.kill9.restartedAt) / 100) / 10,
            }),
        },
      }),
      databaseKills: facts.databaseKills.map((k) => ({
        atS: sec(k.at),
        terminated: k.terminated,
        recoveryMs: Object.fromEntries(
          k.recoveries.map((r) => [r.instance, r.recoveredAfterMs ?? null]),
        ),
        answersBeforeRecovery: Object.fromEntries(
          k.recoveries.map((r) => [
            r.instance,
            r.before.map((b) => `${b.outcome}×${b.count}`).join(', ') || 'none',
          ]),
        ),
        status500Within10s: errors500.filter((e) => e.at >= k.at && e.at <= k.at + 10_000).length,
      })),
      ...(partition && { partition }),
    },
    ...(facts.copies &&
      copyRows && {
        copies: {
          ...facts.copies,
          fulfilments: fulfilmentsOf(copyRows),
          storedNotifications: snapshot.notificationsPerOrder.get(copyRows) ?? 0,
        },
      }),
    notifications: {
      sends: facts.simulatorNotifications.length,
      byOutcome: tally(facts.simulatorNotifications.map((n) => n.outcome)),
      byReply: tally(
        facts.simulatorNotifications
          .filter((n) => n.outcome !== 'dropped')
          .map((n) =>
            n.status !== undefined
              ? `HTTP ${n.status}`
              : (n.error ?? 'no reply').replace(/\s*\d+\.\d+\.\d+\.\d+:\d+/, ''),
          ),
      ),
      storedByOutcome: snapshot.notificationOutcomes,
      reviews: snapshot.reviews,
    },
    cancels: {
      requested: cancels.length,
      firstAnswers: tally(cancels.map((r) => r.cancelOutcomes[0] ?? 'not sent')),
      ended: tally(cancels.map(cancelEnd)),
      forgotten,
    },
    clients: {
      untrackedCheckouts: facts.untrackedCheckouts,
      gaveUpPaying: [...facts.records.values()].filter((r) => r.gaveUp).length,
      paymentsRefused: tally(
        [...facts.records.values()].flatMap((r) => (r.paymentRefused ? [r.paymentRefused] : [])),
      ),
      paceSkipped: facts.pacerSkipped,
    },
    reconciler: {
      passes: passes.length,
      maxPassMs: passes.length ? Math.max(...passes.map((p) => p.durationMs)) : null,
      passesOverLease: passes.filter((p) => p.durationMs > options.reconcilerLeaseMs).length,
    },
    instances: { unexpectedExits: facts.unexpectedExits, errorLogLines: facts.errorLogLines },
    ...(facts.network && { network: facts.network }),
  };
}
