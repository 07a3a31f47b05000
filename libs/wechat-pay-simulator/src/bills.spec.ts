import {
  beijingDayStart,
  billReadyAt,
  feeRateText,
  oldestBillDate,
  serviceFee,
  type BillRow,
} from './bills';

const payment = (settlementTotalFee: number): BillRow => ({
  kind: 'payment',
  appId: 'wx1',
  mchId: '1',
  deviceInfo: '',
  transactionId: 't',
  outTradeNo: 'o',
  openid: 'u',
  tradeType: 'JSAPI',
  bankType: 'OTHERS',
  feeType: 'CNY',
  body: 'b',
  attach: '',
  at: 0,
  settlementTotalFee,
  couponFee: 0,
  totalFee: settlementTotalFee,
});

const refund = (settlementRefundFee: number): BillRow => ({
  ...payment(0),
  kind: 'refund',
  successAt: 0,
  refundId: 'r',
  outRefundNo: 'n',
  settlementRefundFee,
  rechargeCouponRefundFee: 0,
  channel: 'ORIGINAL',
  refundFee: settlementRefundFee,
});

describe('bill arithmetic', () => {
  it('rounds the service fee half up to a whole fen, in integers', () => {
    // 0.60% of 6.00 yuan is 0.036 yuan: 4 fen, the `0.04000` of real bills.
    expect(serviceFee(payment(600), 60)).toBe(4);
    expect(serviceFee(payment(250), 60)).toBe(2);
    expect(serviceFee(payment(249), 60)).toBe(1);
    expect(serviceFee(payment(1), 60)).toBe(0);
    expect(serviceFee(payment(9_999_999_999), 60)).toBe(60_000_000);
    expect(serviceFee(payment(1000), 38)).toBe(4);
  });

  it('gives a refund its share of the fee back as a negative fee, and zero as zero', () => {
    expect(serviceFee(refund(100), 60)).toBe(-1);
    expect(serviceFee(refund(250), 60)).toBe(-2);
    expect(Object.is(serviceFee(refund(1), 60), 0)).toBe(true);
  });

  it('writes the rate with two decimals and a percent sign', () => {
    expect(feeRateText(60)).toBe('0.60%');
    expect(feeRateText(38)).toBe('0.38%');
    expect(feeRateText(100)).toBe('1.00%');
  });

  it('starts a Beijing day at 16:00 UTC the day before and refuses dates that do not exist', () => {
    expect(new Date(beijingDayStart('20240501') as number).toISOString()).toBe(
      '2024-04-30T16:00:00.000Z',
    );
    expect(new Date(billReadyAt('20240501')).toISOString()).toBe('2024-05-02T01:00:00.000Z');
    expect(beijingDayStart('20240230')).toBeUndefined();
    expect(beijingDayStart('2024-05-01')).toBeUndefined();
  });

  it('keeps three calendar months of bills, clamping to the end of a shorter month', () => {
    expect(oldestBillDate(Date.parse('2024-05-31T04:00:00Z'))).toBe('20240229');
    expect(oldestBillDate(Date.parse('2024-02-15T04:00:00Z'))).toBe('20231115');
    // 23:30 UTC is already the next day in Beijing.
    expect(oldestBillDate(Date.parse('2024-05-31T23:30:00Z'))).toBe('20240301');
  });
});
