import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { formatBeijingTime, parseBeijingTime, parseXml } from 'nestjs-wechat-pay-v2/protocol';
import {
  BILL_COLUMNS,
  startSimulator,
  TEST_MERCHANT,
  waitFor,
  type RunningSimulator,
} from 'wechat-pay-v2-simulator';
import {
  PAYER_OPENID,
  SimClient,
  orderFields,
  payParams,
  startMerchantEndpoint,
  type MerchantEndpoint,
  type TlsIdentity,
} from './simulator-support';

jest.setTimeout(30_000);

const DAY = 24 * 60 * 60 * 1000;

/** The Beijing calendar date `days` after the one of `ms`, as yyyyMMdd. */
function dateAfter(ms: number, days: number): string {
  return formatBeijingTime(new Date(ms + days * DAY)).slice(0, 8);
}

interface Download {
  status: number;
  contentType: string;
  body: Buffer;
  text: string;
}

describe('simulator: downloadbill', () => {
  let sim: RunningSimulator;
  let client: SimClient;
  let refunds: SimClient;

  /** Tomorrow, the day after and the day after that, in Beijing time, from the simulator's start. */
  let day1: string;
  let day2: string;
  let day3: string;
  let startDay: string;

  const paid: Record<string, { transactionId: string; time: string }> = {};

  async function download(fields: Record<string, string | undefined>): Promise<Download> {
    const res = await fetch(`${sim.baseUrl}/pay/downloadbill`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml' },
      body: client.signed(fields),
    });
    const body = Buffer.from(await res.arrayBuffer());
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      body,
      text: body.toString('utf8'),
    };
  }

  let shop: MerchantEndpoint;

  async function pay(totalFee: number, extra: Record<string, string> = {}): Promise<string> {
    const fields = orderFields({ total_fee: totalFee, notify_url: shop.url, ...extra });
    const created = await client.call('/pay/unifiedorder', fields);
    const answer = sim.controls.requestPayment({
      ...payParams(TEST_MERCHANT, created.fields.prepay_id, 'MD5'),
      openid: PAYER_OPENID,
    });
    expect(answer.errMsg).toBe('requestPayment:ok');
    const order = sim.controls.order(fields.out_trade_no as string);
    paid[fields.out_trade_no as string] = {
      transactionId: order?.transactionId as string,
      time: (order?.timeEnd as string).replace(
        /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/,
        '$1-$2-$3 $4:$5:$6',
      ),
    };
    return fields.out_trade_no as string;
  }

  const refund = (outTradeNo: string, outRefundNo: string, refundFee: number, totalFee: number) =>
    refunds.call('/secapi/pay/refund', {
      out_trade_no: outTradeNo,
      out_refund_no: outRefundNo,
      total_fee: totalFee,
      refund_fee: refundFee,
    });

  let coffee: string;
  let tea: string;
  let water: string;
  let coffeeRefund: { refundId: string; requested: string; succeeded: string };
  let lateRefund: { refundId: string; requested: string; succeeded: string };

  beforeAll(async () => {
    sim = await startSimulator({ merchants: [TEST_MERCHANT], timeScale: 0.001 });
    shop = await startMerchantEndpoint();
    client = new SimClient(sim.baseUrl, TEST_MERCHANT);
    const [ca, cert, key] = await Promise.all(
      [sim.caPem, sim.certificate.certPem, sim.certificate.keyPem].map((p) => readFile(p)),
    );
    const tls: TlsIdentity = { ca, cert, key };
    refunds = new SimClient(sim.tlsBaseUrl, TEST_MERCHANT, 'MD5', tls);
    const now = sim.controls.now().getTime();
    startDay = dateAfter(now, 0);
    day1 = dateAfter(now, 1);
    day2 = dateAfter(now, 2);
    day3 = dateAfter(now, 3);

    sim.controls.advanceClockTo(`${day1}100000`);
    coffee = await pay(600, { body: '咖啡,大杯', attach: 'table=3,seat=2' });
    tea = await pay(250, { body: 'Tea' });
    water = await pay(249, { body: 'Water\nstill' });
    await refund(coffee, `${coffee}-R1`, 100, 600);
    const first = await waitFor(() => {
      const view = sim.controls.refund(`${coffee}-R1`);
      return view?.status === 'SUCCESS' ? view : undefined;
    });
    coffeeRefund = {
      refundId: first.refundId,
      requested: formatBeijingTime(new Date(first.createdAt)),
      succeeded: first.successTime as string,
    };

    sim.controls.advanceClockTo(`${day1}235959`);
    sim.controls.setFaults({ refundOutcomes: ['PROCESSING'] });
    await refund(tea, `${tea}-R1`, 250, 250);
    sim.controls.advanceClockTo(`${day2}000005`);
    const late = sim.controls.finishRefund(`${tea}-R1`);
    lateRefund = {
      refundId: late.refundId,
      requested: formatBeijingTime(new Date(late.createdAt)),
      succeeded: late.successTime as string,
    };
  });

  afterAll(async () => {
    await sim.stop();
    await shop.stop();
  });

  const spaced = (compact: string) =>
    compact.replace(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/, '$1-$2-$3 $4:$5:$6');
  const { appId, mchId } = TEST_MERCHANT;

  it('answers Bill Creating before 09:00 Beijing time the next day, and the bill from 09:00 on', async () => {
    sim.controls.advanceClockTo(`${day2}085959`);
    const early = await download({ bill_date: day1 });
    expect(early.contentType).toMatch(/^text\/xml/);
    expect(await parseXml(early.text)).toEqual({
      return_code: 'FAIL',
      return_msg: 'Bill Creating',
    });
    sim.controls.advanceClockTo(`${day2}090000`);
    const ready = await download({ bill_date: day1 });
    expect(ready.status).toBe(200);
    expect(ready.contentType).toBe('text/plain; charset=utf-8');
    expect(ready.text.startsWith('交易时间,')).toBe(true);
  });

  it('writes the ALL bill of a day: header, a backtick line per payment and per refund, the summary, yuan amounts and fen-rounded fees', async () => {
    const { text } = await download({ bill_date: day1, bill_type: 'ALL' });
    const openid = PAYER_OPENID;
    const row = (values: string[]) => values.map((v) => `\`${v}`).join(',');
    const payment = (no: string, yuan: string, body: string, attach: string, fee: string) =>
      row([
        paid[no].time,
        appId,
        mchId,
        '0',
        '',
        paid[no].transactionId,
        no,
        openid,
        'JSAPI',
        'SUCCESS',
        'OTHERS',
        'CNY',
        yuan,
        '0.00',
        '0',
        '0',
        '0.00',
        '0.00',
        '',
        '',
        body,
        attach,
        fee,
        '0.60%',
        yuan,
        '0.00',
        '',
      ]);
    expect(text.split('\n')).toEqual([
      BILL_COLUMNS.ALL.join(','),
      // 6.00 × 0.60% = 0.036 → 0.04; 2.50 → 0.015 → 0.02 (half up); 2.49 → 0.01494 → 0.01.
      payment(coffee, '6.00', '咖啡,大杯', 'table=3,seat=2', '0.04000'),
      payment(tea, '2.50', 'Tea', '', '0.02000'),
      payment(water, '2.49', 'Water still', '', '0.01000'),
      row([
        spaced(coffeeRefund.requested),
        appId,
        mchId,
        '0',
        '',
        paid[coffee].transactionId,
        coffee,
        openid,
        'JSAPI',
        'REFUND',
        'OTHERS',
        'CNY',
        '0.00',
        '0.00',
        coffeeRefund.refundId,
        `${coffee}-R1`,
        '1.00',
        '0.00',
        'ORIGINAL',
        'SUCCESS',
        '咖啡,大杯',
        'table=3,seat=2',
        '-0.01000',
        '0.60%',
        '0.00',
        '1.00',
        '',
      ]),
      '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额',
      row(['4', '10.99', '1.00', '0.00', '0.06000', '10.99', '1.00']),
      '',
    ]);
  });

  it('writes the SUCCESS bill with its 20 columns and the REFUND bill with the refund times', async () => {
    const success = (await download({ bill_date: day1, bill_type: 'SUCCESS' })).text.split('\n');
    expect(success[0]).toBe(BILL_COLUMNS.SUCCESS.join(','));
    expect(BILL_COLUMNS.SUCCESS).toHaveLength(20);
    expect(success).toHaveLength(1 + 3 + 2 + 1);
    expect(success[1].split(',`')).toHaveLength(20);
    expect(success[5]).toBe('`3,`10.99,`0.00,`0.00,`0.07000,`10.99,`0.00');

    const refundBill = (await download({ bill_date: day1, bill_type: 'REFUND' })).text.split('\n');
    expect(refundBill[0]).toBe(BILL_COLUMNS.REFUND.join(','));
    expect(BILL_COLUMNS.REFUND.slice(14, 16)).toEqual(['退款申请时间', '退款成功时间']);
    expect(refundBill).toHaveLength(1 + 1 + 2 + 1);
    const values = refundBill[1].slice(1).split(',`');
    expect(values).toHaveLength(29);
    expect(values.slice(9, 10)).toEqual(['REFUND']);
    expect(values.slice(14, 18)).toEqual([
      spaced(coffeeRefund.requested),
      coffeeRefund.succeeded,
      coffeeRefund.refundId,
      `${coffee}-R1`,
    ]);
    expect(refundBill[3]).toBe('`1,`0.00,`1.00,`0.00,`-0.01000,`0.00,`1.00');
  });

  it('puts a refund on the day it succeeded, not the day it was requested', async () => {
    expect((await download({ bill_date: day1 })).text).not.toContain(lateRefund.refundId);
    sim.controls.advanceClockTo(`${day3}090000`);
    const lines = (await download({ bill_date: day2 })).text.split('\n');
    expect(lines).toHaveLength(5);
    const values = lines[1].slice(1).split(',`');
    expect(values[0]).toBe(spaced(lateRefund.requested));
    expect(
      values[0].startsWith(`${day1.slice(0, 4)}-${day1.slice(4, 6)}-${day1.slice(6)} 23:59`),
    ).toBe(true);
    expect(values.slice(9, 20)).toEqual([
      'REFUND',
      'OTHERS',
      'CNY',
      '0.00',
      '0.00',
      lateRefund.refundId,
      `${tea}-R1`,
      '2.50',
      '0.00',
      'ORIGINAL',
      'SUCCESS',
    ]);
    expect(lines[3]).toBe('`1,`0.00,`2.50,`0.00,`-0.02000,`0.00,`2.50');
    // No refund that day for SUCCESS: an empty bill, header and zero summary, not "No Bill Exist".
    expect((await download({ bill_date: day2, bill_type: 'SUCCESS' })).text.split('\n')).toEqual([
      BILL_COLUMNS.SUCCESS.join(','),
      '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额',
      '`0,`0.00,`0.00,`0.00,`0.00000,`0.00,`0.00',
      '',
    ]);
  });

  it('serves the same bytes on every download, and the gzip of them with tar_type=GZIP', async () => {
    const first = await download({ bill_date: day1 });
    const second = await download({ bill_date: day1 });
    expect(second.body.equals(first.body)).toBe(true);
    const zipped = await download({ bill_date: day1, tar_type: 'GZIP' });
    expect(zipped.contentType).toBe('application/x-gzip');
    expect(zipped.body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(gunzipSync(zipped.body).equals(first.body)).toBe(true);
    const again = await download({ bill_date: day1, tar_type: 'GZIP' });
    expect(again.body.equals(zipped.body)).toBe(true);
  });

  it('answers No Bill Exist with error_code 20002 for a past day without trades', async () => {
    const none = await download({ bill_date: startDay });
    expect(none.text).toBe(
      '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[No Bill Exist]]></return_msg><error_code><![CDATA[20002]]></error_code></xml>',
    );
  });

  it('answers unsigned FAILs for a bad bill_type, date, tar_type, a missing date, a future date and a wrong signature', async () => {
    const cases: Array<[Record<string, string | undefined>, string]> = [
      [{ bill_date: day1, bill_type: 'PAID' }, 'invalid bill_type'],
      [{ bill_date: '2024-01-01' }, 'data format error'],
      [{ bill_date: '20240230' }, 'data format error'],
      [{ bill_date: day1, tar_type: 'ZIP' }, 'invalid tar_type'],
      [{}, 'missing parameter'],
      [{ bill_date: dateAfter(sim.controls.now().getTime(), 1) }, 'invalid bill_date'],
    ];
    for (const [fields, message] of cases) {
      const answer = await download(fields);
      expect(await parseXml(answer.text)).toEqual({ return_code: 'FAIL', return_msg: message });
    }
    const forged = await fetch(`${sim.baseUrl}/pay/downloadbill`, {
      method: 'POST',
      body: client.signed({ bill_date: day1 }).replace(/<sign>.*<\/sign>/, '<sign>0</sign>'),
    });
    expect(await parseXml(await forged.text())).toEqual({
      return_code: 'FAIL',
      return_msg: 'SIGN ERROR',
    });
    sim.controls.setFaults({ systemErrorNext: 1, systemErrorPaths: ['/pay/downloadbill'] });
    expect((await parseXml((await download({ bill_date: day1 })).text)).return_msg).toBe(
      'SYSTEMERROR',
    );
    sim.controls.resetFaults();
  });

  it('lists the bill days on the dashboard and the bills control, with links to the same text', async () => {
    const days = sim.controls.bills();
    expect(days.find((d) => d.date === day1)).toEqual({
      mchId,
      date: day1,
      rows: 4,
      payments: 3,
      refunds: 1,
      paidFee: 1099,
      refundedFee: 100,
      serviceFee: 6,
    });
    const page = await (await fetch(`${sim.baseUrl}/__simulator/`)).text();
    expect(page).toContain(`<tr data-bill-date="${day1}">`);
    const link = `/__simulator/bills/${day1}?mchId=${mchId}&amp;billType=ALL`;
    expect(page).toContain(link);
    const linked = await fetch(`${sim.baseUrl}${link.replace('&amp;', '&')}`);
    expect(
      Buffer.from(await linked.arrayBuffer()).equals((await download({ bill_date: day1 })).body),
    ).toBe(true);
    const listed = (await (await fetch(`${sim.baseUrl}/__simulator/bills`)).json()) as unknown[];
    expect(listed).toEqual(days);
  });

  it("keeps a day's bill after the store forgets its orders, until three months have passed", async () => {
    const before = (await download({ bill_date: day1 })).body;
    await waitFor(() => sim.controls.orders().every((o) => o.notification === 'delivered'));
    sim.controls.advanceClock(8 * DAY);
    expect((await client.call('/pay/orderquery', { out_trade_no: coffee })).fields.err_code).toBe(
      'ORDERNOTEXIST',
    );
    expect((await download({ bill_date: day1 })).body.equals(before)).toBe(true);
    expect(sim.controls.stats().billRows).toBe(5);
    const later = parseBeijingTime(`${day1}100000`) as Date;
    sim.controls.advanceClockTo(new Date(later.getTime() + 100 * DAY));
    expect(await parseXml((await download({ bill_date: day1 })).text)).toEqual({
      return_code: 'FAIL',
      return_msg: 'invalid bill_date',
    });
    expect(sim.controls.stats().billRows).toBe(0);
  });
});

describe('simulator: downloadbill with billCreating off and another fee rate', () => {
  it("serves today's bill at once, with the configured rate", async () => {
    const sim = await startSimulator({
      merchants: [TEST_MERCHANT],
      timeScale: 0.001,
      billCreating: false,
      feeRatePercent: 0.38,
    });
    try {
      const client = new SimClient(sim.baseUrl, TEST_MERCHANT, 'HMAC-SHA256');
      const fields = orderFields({ total_fee: 1000 });
      const created = await client.call('/pay/unifiedorder', fields);
      sim.controls.requestPayment({
        ...payParams(TEST_MERCHANT, created.fields.prepay_id, 'HMAC-SHA256'),
        openid: PAYER_OPENID,
      });
      const today = formatBeijingTime(sim.controls.now()).slice(0, 8);
      const res = await fetch(`${sim.baseUrl}/pay/downloadbill`, {
        method: 'POST',
        body: client.signed({ bill_date: today, bill_type: 'SUCCESS' }),
      });
      const lines = (await res.text()).split('\n');
      // 10.00 × 0.38% = 0.038 → 0.04.
      expect(lines[1].endsWith(',`0.04000,`0.38%,`10.00,`')).toBe(true);
      expect(lines[3]).toBe('`1,`10.00,`0.00,`0.00,`0.04000,`10.00,`0.00');
      await expect(startSimulator({ feeRatePercent: 0.375 })).rejects.toThrow(
        'feeRatePercent must be a percentage from 0 to 100 with at most two decimals',
      );
    } finally {
      await sim.stop();
    }
  });
});
