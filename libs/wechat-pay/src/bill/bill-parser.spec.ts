import { Readable } from 'node:stream';
import {
  billLine,
  billText,
  generatedBillLines,
  LAYOUTS,
  SUMMARY_LAYOUTS,
} from '../../../../test/fixtures/bills';
import { WechatPayProtocolError, WechatPayTransportError } from '../errors/errors';
import { billLines, MAX_BILL_LINE_CHARS, parseBill, parseBillStream } from './bill-parser';

function refusal(run: () => unknown): WechatPayProtocolError {
  try {
    run();
  } catch (error) {
    if (error instanceof WechatPayProtocolError) return error;
    throw error;
  }
  throw new Error('expected a WechatPayProtocolError');
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('parseBill', () => {
  it('reads a current ALL bill: typed fields, Beijing times, ids as strings, fen and milli-fen', () => {
    const bill = parseBill(
      billText({
        rows: [
          {
            微信订单号: '4200002145202403010012345678',
            商户订单号: '000123',
            应结订单金额: '6.00',
            代金券金额: '0.01',
            手续费: '0.04000',
            订单金额: '6.01',
            商户数据包: 'user=7',
          },
        ],
        summary: ['1', '6.00', '0.00', '0.00', '0.04000', '6.01', '0.00'],
      }),
    );
    expect(bill.columns).toEqual(LAYOUTS.ALL);
    expect(bill.rows).toHaveLength(1);
    const [row] = bill.rows;
    expect(row).toMatchObject({
      tradeTime: new Date('2024-03-01T04:34:56.000Z'),
      appId: 'wxd930ea5d5a258f4f',
      mchId: '10000100',
      subMchId: '0',
      deviceInfo: '',
      transactionId: '4200002145202403010012345678',
      outTradeNo: '000123',
      tradeState: 'SUCCESS',
      settlementTotalFee: 600,
      couponFee: 1,
      refundId: '0',
      refundFee: 0,
      feeMilliFen: 4000,
      rate: '0.60%',
      totalFee: 601,
      refundApplyFee: 0,
      attach: 'user=7',
      rateRemark: '',
    });
    expect(row.raw['手续费']).toBe('0.04000');
    expect(bill.summary).toMatchObject({
      totalCount: 1,
      settlementTotalFee: 600,
      refundFee: 0,
      feeMilliFen: 4000,
      totalFee: 601,
    });
  });

  it('reads a refund row of an ALL bill with its refund columns and a negative fee', () => {
    const bill = parseBill(
      billText({
        rows: [
          {
            交易状态: 'REFUND',
            应结订单金额: '0.00',
            微信退款单号: '50000203702017072601461713166',
            商户退款单号: 'R-0001',
            退款金额: '2.50',
            退款类型: 'ORIGINAL',
            退款状态: 'SUCCESS',
            手续费: '-0.01500',
            申请退款金额: '2.50',
          },
        ],
      }),
    );
    expect(bill.rows[0]).toMatchObject({
      tradeState: 'REFUND',
      refundId: '50000203702017072601461713166',
      outRefundNo: 'R-0001',
      refundFee: 250,
      refundType: 'ORIGINAL',
      refundStatus: 'SUCCESS',
      feeMilliFen: -1500,
      refundApplyFee: 250,
    });
  });

  it('reads a SUCCESS bill, which has no refund columns', () => {
    const bill = parseBill(billText({ layout: LAYOUTS.SUCCESS, rows: [{}, {}] }));
    expect(bill.rows).toHaveLength(2);
    expect(bill.rows[0].settlementTotalFee).toBe(600);
    expect(bill.rows[0]).not.toHaveProperty('refundFee');
    expect(bill.rows[0]).not.toHaveProperty('refundId');
    expect(bill.rows[0].totalFee).toBe(600);
  });

  it('reads a REFUND bill with its application and success times, and one still processing', () => {
    const bill = parseBill(
      billText({
        layout: LAYOUTS.REFUND,
        rows: [
          {
            交易状态: 'REFUND',
            退款申请时间: '2024-03-01 23:59:58',
            退款成功时间: '2024-03-02 00:00:03',
            退款金额: '1.00',
            退款状态: 'SUCCESS',
          },
          {
            交易状态: 'REFUND',
            退款申请时间: '2024-03-01 10:00:00',
            退款成功时间: '',
            退款金额: '2.00',
            退款状态: 'PROCESSING',
          },
        ],
      }),
    );
    expect(bill.rows[0].refundApplyTime).toEqual(new Date('2024-03-01T15:59:58.000Z'));
    expect(bill.rows[0].refundSuccessTime).toEqual(new Date('2024-03-01T16:00:03.000Z'));
    expect(bill.rows[1].refundSuccessTime).toBeUndefined();
    expect(bill.rows[1].refundStatus).toBe('PROCESSING');
    expect(bill.rows.map((r) => r.refundFee)).toEqual([100, 200]);
  });

  it('reads the older layout and summary under their old names (总金额, 企业红包金额, 子商户号, 总交易额)', () => {
    const bill = parseBill(
      billText({
        layout: LAYOUTS.OLD_ALL,
        summaryLayout: SUMMARY_LAYOUTS.OLD,
        rows: [{ 总金额: '3.00', 企业红包金额: '0.50', 子商户号: '1900000109', 手续费: '0.02000' }],
        summary: ['22', '209.00', '0.00', '0.00', '1.26000'],
      }),
    );
    expect(bill.rows[0]).toMatchObject({
      settlementTotalFee: 300,
      couponFee: 50,
      subMchId: '1900000109',
      feeMilliFen: 2000,
      rechargeCouponRefundFee: 0,
    });
    expect(bill.rows[0]).not.toHaveProperty('totalFee');
    expect(bill.summary).toMatchObject({
      totalCount: 22,
      settlementTotalFee: 20900,
      refundFee: 0,
      rechargeCouponRefundFee: 0,
      feeMilliFen: 126000,
    });
  });

  it('keeps a column it does not know in raw', () => {
    const layout = [...LAYOUTS.ALL, '新字段'];
    const bill = parseBill(billText({ layout, rows: [{ 新字段: 'x,y' }] }));
    expect(bill.rows[0].raw['新字段']).toBe('x,y');
  });

  it('returns an empty result for a bill without records', () => {
    const bill = parseBill(billText({ rows: [] }));
    expect(bill.rows).toEqual([]);
    expect(bill.summary.totalCount).toBe(0);
    expect(bill.summary.settlementTotalFee).toBe(0);
  });

  it('reads every amount exactly, from 0.01 to 99999999.99', () => {
    const amounts = ['0.01', '0.07', '0.29', '6.00', '19.99', '1299.02', '99999999.99'];
    const bill = parseBill(billText({ rows: amounts.map((yuan) => ({ 应结订单金额: yuan })) }));
    expect(bill.rows.map((r) => r.settlementTotalFee)).toEqual([
      1, 7, 29, 600, 1999, 129902, 9999999999,
    ]);
  });

  it('keeps commas inside 商品名称 and 商户数据包 in their values, Chinese text included', () => {
    const bill = parseBill(
      billText({
        rows: [
          {
            商品名称: '红茶, 绿茶，乌龙茶,2件',
            商户数据包: '{"a":1,"b":[2,3]}',
            手续费: '0.00060',
          },
        ],
      }),
    );
    expect(bill.rows[0].body).toBe('红茶, 绿茶，乌龙茶,2件');
    expect(bill.rows[0].attach).toBe('{"a":1,"b":[2,3]}');
    expect(bill.rows[0].feeMilliFen).toBe(60);
    expect(bill.rows[0].rate).toBe('0.60%');
  });

  it('refuses, with its line number, a line whose values cannot be told apart', () => {
    const text = billText({ rows: [{}, { 商品名称: 'a,`b' }] });
    const error = refusal(() => parseBill(text));
    expect(error.message).toBe('bill line 3 has 28 values for 27 columns');
  });

  it('reads LF line ends and a bill without a byte-order mark', () => {
    const bill = parseBill(billText({ rows: [{}], eol: '\n', bom: false }));
    expect(bill.rows).toHaveLength(1);
    expect(bill.columns[0]).toBe('交易时间');
  });

  it.each<[string, string, RegExp]>([
    ['an empty body', '', /the bill is empty/],
    [
      'a bill cut before its summary',
      billText({ rows: [{}] }).split('总交易单数')[0],
      /ended before its summary/,
    ],
    ['a header that is not a bill', 'foo,bar\r\n`1,`2\r\n', /no tradeTime column/],
    [
      'a line after the summary',
      `${billText({ rows: [] })}\`1,\`2\r\n`,
      /bill line 4 follows the summary/,
    ],
    [
      'an amount with three decimals',
      billText({ rows: [{ 应结订单金额: '6.001' }] }),
      /bill line 2: 应结订单金额 is not an amount in yuan with at most 2 decimals/,
    ],
    [
      'an amount with an exponent',
      billText({ rows: [{ 退款金额: '1e2' }] }),
      /退款金额 is not an amount/,
    ],
    [
      'a time that does not exist',
      billText({ rows: [{ 交易时间: '2024-02-30 12:00:00' }] }),
      /交易时间 is not a Beijing time/,
    ],
    [
      'a record without a value for a required column',
      billText({ rows: [{ 应结订单金额: '' }] }),
      /bill line 2 has no value for settlementTotalFee/,
    ],
    [
      'a summary count with decimals',
      billText({ rows: [], summary: ['1.5', '0.00', '0.00', '0.00', '0.00000', '0.00', '0.00'] }),
      /总交易单数 is not a count/,
    ],
    [
      'a duplicated column',
      billText({ layout: [...LAYOUTS.ALL, '总金额'], rows: [] }),
      /names column 总金额 twice/,
    ],
  ])('refuses %s with a protocol error', (_case, text, message) => {
    expect(refusal(() => parseBill(text)).message).toMatch(message);
  });
});

describe('parseBillStream', () => {
  it('gives the same rows and summary as parseBill, whatever the chunk boundaries', async () => {
    const text = billText({
      rows: Array.from({ length: 50 }, (_, i) => ({
        商户订单号: `O${i}`,
        商品名称: `商品，第${i}件, 含税`,
        应结订单金额: `${i}.0${i % 10}`,
      })),
    });
    const whole = parseBill(text);
    const bytes = Buffer.from(text, 'utf8');
    // Chunks of 1, 2, 3 and 7 bytes cut multi-byte characters and CRLF pairs in half.
    for (const size of [1, 2, 3, 7, 4096]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const stream = parseBillStream(Readable.from(chunks));
      expect(await collect(stream)).toEqual(whole.rows);
      expect(stream.summary).toEqual(whole.summary);
      expect(stream.columns).toEqual(whole.columns);
      expect(stream.rowCount).toBe(50);
    }
  });

  it('reads a generated bill of 200,000 rows row by row, with totals that match its summary', async () => {
    const stream = parseBillStream(Readable.from(generatedBillLines(200_000)));
    let count = 0;
    let total = 0;
    for await (const row of stream) {
      count += 1;
      total += row.settlementTotalFee;
    }
    expect(count).toBe(200_000);
    expect(stream.summary?.totalCount).toBe(200_000);
    expect(stream.summary?.settlementTotalFee).toBe(total);
  }, 120_000);

  it('reads no further ahead than the line of the row it hands over, so memory is that of a row', async () => {
    let pulled = 0;
    async function* source(): AsyncGenerator<string> {
      for (const line of generatedBillLines(20_000)) {
        pulled += 1;
        yield line;
      }
    }
    let rows = 0;
    let furthestAhead = 0;
    for await (const row of parseBillStream(source())) {
      rows += 1;
      // The header is line 1, this row line rows + 1: nothing after it has been read.
      furthestAhead = Math.max(furthestAhead, pulled - (rows + 1));
      expect(row.outTradeNo).toBe(`ORDER${String(rows - 1).padStart(10, '0')}`);
    }
    expect(rows).toBe(20_000);
    expect(furthestAhead).toBe(0);
  });

  it('cannot be iterated twice', async () => {
    const stream = parseBillStream(Readable.from([billText({ rows: [{}] })]));
    await collect(stream);
    await expect(collect(stream)).rejects.toThrow('a bill stream can be read only once');
  });

  it('fails when the stream ends before the summary', async () => {
    const cut = billText({ rows: [{}, {}] }).split('总交易单数')[0];
    await expect(collect(parseBillStream(Readable.from([cut])))).rejects.toThrow(
      'the bill ended before its summary line',
    );
  });

  it('reports once how the iteration ended: completed, stopped early, or failed', async () => {
    const outcomes: Array<{ completed: boolean; error?: unknown }> = [];
    const onClose = (outcome: { completed: boolean; error?: unknown }) => outcomes.push(outcome);
    await collect(parseBillStream(Readable.from([billText({ rows: [{}] })]), { onClose }));
    const stream = parseBillStream(Readable.from([billText({ rows: [{}, {}, {}] })]), { onClose });
    for await (const row of stream) {
      expect(row.outTradeNo).toBe('ORDER0001');
      break;
    }
    const bad = parseBillStream(Readable.from([billText({ rows: [{ 应结订单金额: 'x' }] })]), {
      onClose,
    });
    await expect(collect(bad)).rejects.toThrow(WechatPayProtocolError);
    expect(outcomes).toEqual([
      { completed: true },
      { completed: false },
      { completed: false, error: expect.any(WechatPayProtocolError) },
    ]);
  });
});

describe('billLines', () => {
  it('refuses a line longer than MAX_BILL_LINE_CHARS without holding the rest', async () => {
    const long = Readable.from(
      (function* () {
        for (let i = 0; i < 100; i += 1) yield Buffer.alloc(4096, 'x');
      })(),
    );
    await expect(collect(billLines(long))).rejects.toThrow(
      `a bill line is longer than ${MAX_BILL_LINE_CHARS} characters`,
    );
  });

  it('refuses a body past maxBytes with a TOO_LARGE transport error that is not retryable', async () => {
    const lines = [billLine(LAYOUTS.ALL), billLine(LAYOUTS.ALL)].join('\n');
    const error = await collect(billLines(Readable.from([lines, lines]), { maxBytes: 100 })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WechatPayTransportError);
    expect(error).toMatchObject({ failure: 'TOO_LARGE', retryable: false });
  });
});
