import type { BillRow, OrderQueryResult, RefundQueryResult } from 'nestjs-wechat-pay-v2';
import {
  billLine,
  comparePayment,
  compareRefund,
  findingSubject,
  settledFinding,
  unbilledPaymentFinding,
  unbilledRefundFinding,
  type BillLine,
  type OrderFacts,
  type RefundFacts,
} from './bill-comparison';
import { beijingDayStart } from './bill-date';

type PaymentLine = Extract<BillLine, { type: 'payment' }>;
type RefundLine = Extract<BillLine, { type: 'refund' }>;

function row(overrides: Partial<BillRow>): BillRow {
  return {
    tradeTime: new Date('2026-11-30T02:00:00Z'),
    appId: 'wxa1b2c3d4e5f60718',
    mchId: '1900000109',
    transactionId: '4200000001202611300000000001',
    outTradeNo: 'D20261130A',
    tradeState: 'SUCCESS',
    settlementTotalFee: 600,
    feeMilliFen: 4000,
    raw: {},
    ...overrides,
  };
}

const paymentLine = (overrides: Partial<PaymentLine> = {}): PaymentLine => ({
  type: 'payment',
  orderNo: 'D20261130A',
  transactionId: '4200000001202611300000000001',
  amountFen: 600,
  tradeState: 'SUCCESS',
  tradeTime: new Date('2026-11-30T02:00:00Z'),
  ...overrides,
});

const refundLine = (overrides: Partial<RefundLine> = {}): RefundLine => ({
  type: 'refund',
  orderNo: 'D20261130A',
  transactionId: '4200000001202611300000000001',
  refundNo: 'D20261130A-R1',
  refundId: '50000000012026113000000001',
  amountFen: 100,
  status: 'SUCCESS',
  ...overrides,
});

const order = (overrides: Partial<OrderFacts> = {}): OrderFacts => ({
  id: 1,
  orderNo: 'D20261130A',
  status: 'PAID',
  amountFen: 600,
  transactionId: '4200000001202611300000000001',
  paidAt: Date.parse('2026-11-30T02:00:01Z'),
  ...overrides,
});

const refund = (overrides: Partial<RefundFacts> = {}): RefundFacts => ({
  id: 7,
  refundNo: 'D20261130A-R1',
  orderNo: 'D20261130A',
  status: 'SUCCESS',
  amountFen: 100,
  refundId: '50000000012026113000000001',
  successAt: Date.parse('2026-11-30T03:00:00Z'),
  ...overrides,
});

describe('billLine', () => {
  it('reads a payment row with the order amount (订单金额), not the coupon-lowered settlement amount', () => {
    expect(billLine(row({ totalFee: 600, settlementTotalFee: 500, couponFee: 100 }))).toEqual({
      type: 'payment',
      orderNo: 'D20261130A',
      transactionId: '4200000001202611300000000001',
      amountFen: 600,
      tradeState: 'SUCCESS',
      tradeTime: new Date('2026-11-30T02:00:00Z'),
    });
  });

  it('falls back to 应结订单金额 in older layouts without 订单金额', () => {
    expect(billLine(row({ settlementTotalFee: 249 }))).toMatchObject({ amountFen: 249 });
  });

  it('reads a refund row with the refund_fee asked for, in the shop’s status words', () => {
    const refundRow = row({
      tradeState: 'REFUND',
      settlementTotalFee: 0,
      refundId: '50000000012026113000000001',
      outRefundNo: 'D20261130A-R1',
      refundFee: 90,
      refundApplyFee: 100,
      refundStatus: 'REFUNDCLOSE',
    });
    expect(billLine(refundRow)).toEqual({
      type: 'refund',
      orderNo: 'D20261130A',
      transactionId: '4200000001202611300000000001',
      refundNo: 'D20261130A-R1',
      refundId: '50000000012026113000000001',
      amountFen: 100,
      status: 'CLOSED',
    });
    expect(billLine({ ...refundRow, refundStatus: undefined })).toMatchObject({
      status: 'SUCCESS',
    });
  });

  it('takes the `0` a payment row writes in the refund columns for no refund', () => {
    expect(billLine(row({ refundId: '0', outRefundNo: '0' })).type).toBe('payment');
  });
});

describe('comparePayment', () => {
  it('matches a payment recorded here with the same amount and transaction', () => {
    expect(comparePayment(paymentLine(), order())).toEqual({ match: true });
    expect(comparePayment(paymentLine(), order({ status: 'REFUNDED' }))).toEqual({ match: true });
  });

  it('reports a payment for an order the shop does not have', () => {
    const verdict = comparePayment(paymentLine(), undefined);
    expect(verdict).toMatchObject({
      match: false,
      finding: { kind: 'PAID_AT_WECHAT_NOT_HERE', ourFen: null, wechatFen: 600, repaired: false },
    });
  });

  it('asks for a settle when the order is known and not paid here', () => {
    for (const status of ['UNPAID', 'CLOSED']) {
      expect(comparePayment(paymentLine(), order({ status }))).toEqual({
        settle: true,
        order: order({ status }),
      });
    }
    expect(comparePayment(paymentLine({ amountFen: 500 }), order({ status: 'UNPAID' }))).toEqual(
      expect.objectContaining({ settle: true }),
    );
  });

  it('reports a different amount on an order paid on both sides', () => {
    expect(comparePayment(paymentLine({ amountFen: 500 }), order())).toMatchObject({
      match: true,
      finding: { kind: 'AMOUNT_DIFFERS', wechatFen: 500, ourFen: 600 },
    });
  });

  it('reports a different transaction id, and a trade WeChat did not complete that is paid here', () => {
    expect(comparePayment(paymentLine(), order({ transactionId: '42xx' }))).toMatchObject({
      finding: { kind: 'TRANSACTION_DIFFERS' },
    });
    expect(comparePayment(paymentLine({ tradeState: 'REVOKED' }), order())).toMatchObject({
      finding: { kind: 'STATUS_DIFFERS', detail: 'WeChat: REVOKED, here: PAID' },
    });
    expect(
      comparePayment(paymentLine({ tradeState: 'REVOKED' }), order({ status: 'CLOSED' })),
    ).toEqual({ match: true });
  });
});

describe('settledFinding', () => {
  it('is repaired when orderquery recorded the payment, also for an order closed here', () => {
    expect(settledFinding(paymentLine(), order({ status: 'UNPAID' }), { settled: 'PAID' })).toEqual(
      expect.objectContaining({ kind: 'PAID_AT_WECHAT_NOT_HERE', repaired: true, ourFen: 600 }),
    );
    expect(
      settledFinding(paymentLine(), order({ status: 'CLOSED' }), { settled: 'PAID_AFTER_CLOSE' }),
    ).toMatchObject({ repaired: true, detail: expect.stringContaining('was CLOSED here') });
  });

  it('stays unrepaired for an amount mismatch, a failed orderquery and anything else', () => {
    const unpaid = order({ status: 'UNPAID' });
    expect(
      settledFinding(paymentLine({ amountFen: 500 }), unpaid, { settled: 'AMOUNT_MISMATCH' }),
    ).toMatchObject({ kind: 'AMOUNT_DIFFERS', repaired: false, wechatFen: 500, ourFen: 600 });
    expect(settledFinding(paymentLine(), unpaid, { error: 'TRANSPORT: timeout' })).toMatchObject({
      kind: 'PAID_AT_WECHAT_NOT_HERE',
      repaired: false,
      detail: expect.stringContaining('a re-run tries again'),
    });
    expect(settledFinding(paymentLine(), unpaid, { settled: 'DUPLICATE' })).toMatchObject({
      kind: 'PAID_AT_WECHAT_NOT_HERE',
      repaired: false,
    });
  });
});

describe('compareRefund', () => {
  it('matches a refund recorded here with the same status and amount', () => {
    expect(compareRefund(refundLine(), refund())).toBeUndefined();
  });

  it('reports a refund not recorded here, another status and another amount', () => {
    expect(compareRefund(refundLine(), undefined)).toMatchObject({
      kind: 'REFUND_AT_WECHAT_NOT_HERE',
      refundNo: 'D20261130A-R1',
      ourFen: null,
    });
    expect(compareRefund(refundLine(), refund({ status: 'PROCESSING' }))).toMatchObject({
      kind: 'STATUS_DIFFERS',
      detail: expect.stringContaining('WeChat: SUCCESS, here: PROCESSING'),
    });
    expect(compareRefund(refundLine(), refund({ amountFen: 150 }))).toMatchObject({
      kind: 'AMOUNT_DIFFERS',
      wechatFen: 100,
      ourFen: 150,
    });
  });
});

describe('unbilledPaymentFinding', () => {
  const paid = (timeEnd: string): OrderQueryResult => ({
    tradeState: 'SUCCESS',
    tradeStateDesc: '支付成功',
    transactionId: '4200000001202611300000000001',
    totalFee: 600,
    cashFee: 600,
    timeEnd,
    openid: 'o1',
    appId: 'wxa1b2c3d4e5f60718',
    mchId: '1900000109',
    outTradeNo: 'D20261130A',
    raw: {},
  });

  it('leaves an order paid at 23:59:59 at WeChat and recorded here after midnight to the bill of its WeChat day', () => {
    // Recorded here at 00:00:01 on 1 December, Beijing time: that day's run finds it unbilled.
    const late = order({ paidAt: (beijingDayStart('20261201') as number) + 1000 });
    expect(unbilledPaymentFinding(late, '20261201', paid('20261130235959'))).toBeUndefined();
  });

  it('reports an order WeChat has paid that day but the bill lacks, and one WeChat has not paid', () => {
    expect(unbilledPaymentFinding(order(), '20261130', paid('20261130100000'))).toMatchObject({
      kind: 'PAID_HERE_NOT_AT_WECHAT',
      detail: expect.stringContaining('the bill has no row for it'),
    });
    const notPaid = { ...paid(''), tradeState: 'NOTPAY' } as OrderQueryResult;
    expect(unbilledPaymentFinding(order(), '20261130', notPaid)).toMatchObject({
      kind: 'PAID_HERE_NOT_AT_WECHAT',
      ourFen: 600,
      wechatFen: null,
      detail: 'WeChat trade_state: NOTPAY',
    });
    expect(unbilledPaymentFinding(order(), '20261130', { notFound: true })).toMatchObject({
      detail: expect.stringContaining('ORDERNOTEXIST'),
    });
  });
});

describe('unbilledRefundFinding', () => {
  const found = (status: 'SUCCESS' | 'PROCESSING', successAt?: string): RefundQueryResult => ({
    found: true,
    outTradeNo: 'D20261130A',
    transactionId: '4200000001202611300000000001',
    totalFee: 600,
    refundCount: 1,
    refunds: [
      {
        outRefundNo: 'D20261130A-R1',
        refundId: '50000000012026113000000001',
        status,
        refundFee: 100,
        coupons: [],
        ...(successAt ? { successTime: successAt, successAt: new Date(successAt) } : {}),
      },
    ],
    raw: {},
  });

  it('leaves a refund WeChat finished on another day to that day', () => {
    expect(
      unbilledRefundFinding(refund(), '20261201', found('SUCCESS', '2026-11-30T15:59:59Z')),
    ).toBeUndefined();
  });

  it('reports a refund WeChat does not know, one still processing there, one missing from its day', () => {
    expect(
      unbilledRefundFinding(refund(), '20261130', { found: false } as RefundQueryResult),
    ).toMatchObject({
      kind: 'REFUND_HERE_NOT_AT_WECHAT',
      detail: expect.stringContaining('REFUNDNOTEXIST'),
    });
    expect(unbilledRefundFinding(refund(), '20261130', found('PROCESSING'))).toMatchObject({
      detail: 'WeChat refund status: PROCESSING',
    });
    expect(
      unbilledRefundFinding(refund(), '20261130', found('SUCCESS', '2026-11-30T03:00:00Z')),
    ).toMatchObject({ wechatFen: 100, detail: expect.stringContaining('the bill has no row') });
  });
});

describe('findingSubject', () => {
  it('names the order, or the order and its refund', () => {
    expect(findingSubject({ orderNo: 'A1', refundNo: null })).toBe('A1');
    expect(findingSubject({ orderNo: 'A1', refundNo: 'R1' })).toBe('A1/R1');
  });
});
