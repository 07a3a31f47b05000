import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  WechatPayError,
  WechatPayGateway,
  WechatPayModule,
  WechatPayProtocolError,
  WechatPayRequestError,
  WechatPayReturnError,
  WechatPayTransportError,
  type WechatPayGatewayCallEvent,
  type WechatPayModuleOptions,
} from 'nestjs-wechat-pay-v2';
import { buildXml } from 'nestjs-wechat-pay-v2/protocol';
import { billText, generatedBillLines, LAYOUTS, type BillValues } from './fixtures/bills';
import { CertificateFiles, TestCa } from './fixtures/certificates';
import { FakeWechatTls } from './fixtures/fake-wechat-tls';

/**
 * downloadbill against a WeChat host over real TLS: plain and gzip bodies, the XML error
 * answers, and a 200,000-row bill streamed with backpressure.
 */
// Streaming 200,000 rows over TLS takes seconds on a shared machine.
jest.setTimeout(120_000);

const MERCHANT = {
  appId: 'wxd930ea5d5a258f4f',
  mchId: '1900000109',
  apiKey: '192006250b4c09247ec02edce69f6a2d',
};

const files = new CertificateFiles();
const ca = new TestCa();
const calls: WechatPayGatewayCallEvent[] = [];
const modules: TestingModule[] = [];
let host: FakeWechatTls;
let gateway: WechatPayGateway;
/** How the next downloadbill is answered. */
let answer: (res: ServerResponse, fields: Record<string, string>) => void;

async function gatewayWith(
  options: Partial<WechatPayModuleOptions> = {},
): Promise<WechatPayGateway> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      WechatPayModule.forRoot({
        ...MERCHANT,
        baseUrl: host.url,
        caCert: ca.pem.cert,
        readTimeoutMs: 2000,
        hooks: { onGatewayCall: (event: WechatPayGatewayCallEvent) => calls.push(event) },
        notifyController: false,
        refundNotifyController: false,
        ...options,
      }),
    ],
  }).compile();
  await moduleRef.init();
  modules.push(moduleRef);
  return moduleRef.get(WechatPayGateway);
}

async function failure(promise: Promise<unknown>): Promise<WechatPayError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof WechatPayError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

function text(res: ServerResponse, body: string | Buffer, type = 'text/plain;charset=utf-8'): void {
  res.writeHead(200, { 'Content-Type': type });
  res.end(body);
}

const ROWS: BillValues[] = [
  { 商户订单号: 'A-1', 应结订单金额: '0.01', 商品名称: '红茶, 绿茶' },
  { 商户订单号: 'A-2', 应结订单金额: '99999999.99', 手续费: '0.60000' },
  {
    商户订单号: 'A-3',
    交易状态: 'REFUND',
    应结订单金额: '0.00',
    微信退款单号: '50000203702017072601461713166',
    商户退款单号: 'R-3',
    退款金额: '6.00',
    退款状态: 'SUCCESS',
    手续费: '-0.04000',
  },
];

beforeAll(async () => {
  host = new FakeWechatTls({ server: ca.server(), ca: ca.pem.cert, ...MERCHANT });
  host.handlers.set('/pay/downloadbill', (seen, res) => answer(res, seen.fields));
  await host.start();
  gateway = await gatewayWith();
});

afterAll(async () => {
  await Promise.all(modules.map((m) => m.close()));
  await host.stop();
  files.remove();
});

beforeEach(() => {
  calls.length = 0;
});

describe('downloadBill', () => {
  it('signs the request and reads a plain bill: typed rows, exact fen, the summary', async () => {
    answer = (res) =>
      text(
        res,
        billText({
          rows: ROWS,
          summary: ['3', '100000000.00', '6.00', '0.00', '0.56000', '100000000.00', '6.00'],
        }),
      );
    const before = host.seen.length;
    const bill = await gateway.downloadBill({ billDate: '20240301' });
    expect(host.seen[before].fields).toMatchObject({ bill_date: '20240301', bill_type: 'ALL' });
    expect(host.seen[before].fields).not.toHaveProperty('tar_type');
    expect(bill.found).toBe(true);
    if (!bill.found) return;
    expect(bill.columns).toEqual(LAYOUTS.ALL);
    expect(bill.rows.map((r) => [r.outTradeNo, r.settlementTotalFee, r.feeMilliFen])).toEqual([
      ['A-1', 1, 4000],
      ['A-2', 9999999999, 60000],
      ['A-3', 0, -4000],
    ]);
    expect(bill.rows[0].body).toBe('红茶, 绿茶');
    expect(bill.rows[2]).toMatchObject({
      tradeState: 'REFUND',
      refundFee: 600,
      outRefundNo: 'R-3',
    });
    expect(bill.summary).toMatchObject({
      totalCount: 3,
      settlementTotalFee: 10000000000,
      feeMilliFen: 56000,
    });
    expect(calls).toEqual([
      { endpoint: '/pay/downloadbill', result: 'SUCCESS', durationMs: expect.any(Number) },
    ]);
  });

  it('asks for GZIP and reads the gzip body to the same rows', async () => {
    answer = (res, fields) => {
      expect(fields.tar_type).toBe('GZIP');
      text(res, gzipSync(billText({ rows: ROWS })), 'application/x-gzip');
    };
    const bill = await gateway.downloadBill({
      billDate: new Date('2024-03-01T16:30:00Z'),
      tarType: 'GZIP',
    });
    expect(host.seen[host.seen.length - 1].fields.bill_date).toBe('20240302');
    expect(bill.found && bill.rows.map((r) => r.outTradeNo)).toEqual(['A-1', 'A-2', 'A-3']);
  });

  it('reads a gzip body it did not ask for, told by its first bytes', async () => {
    answer = (res) => text(res, gzipSync(billText({ rows: ROWS.slice(0, 1) })));
    const bill = await gateway.downloadBill({ billDate: '20240301' });
    expect(bill.found && bill.rows).toHaveLength(1);
  });

  it.each(['SUCCESS', 'REFUND'] as const)('reads a %s bill in its own layout', async (billType) => {
    answer = (res, fields) => {
      expect(fields.bill_type).toBe(billType);
      text(
        res,
        billText({ layout: LAYOUTS[billType], rows: [{ 退款申请时间: '2024-03-01 10:00:00' }] }),
      );
    };
    const bill = await gateway.downloadBill({ billDate: '20240301', billType });
    expect(bill.found && bill.columns).toEqual(LAYOUTS[billType]);
    expect(bill.found && bill.rows[0].settlementTotalFee).toBe(600);
  });

  it('returns an empty result for a bill without records', async () => {
    answer = (res) => text(res, billText({ rows: [] }));
    const bill = await gateway.downloadBill({ billDate: '20240301' });
    expect(bill.found && bill.rows).toEqual([]);
    expect(bill.found && bill.summary.totalCount).toBe(0);
  });

  it.each<[string, Record<string, string>, boolean]>([
    [
      'No Bill Exist with error_code 20002',
      { return_msg: 'No Bill Exist', error_code: '20002' },
      false,
    ],
    ['NO Bill Exist without error_code', { return_msg: 'NO Bill Exist' }, false],
    ['no bill exist, gzip', { return_msg: 'no bill exist' }, true],
  ])('returns found: false for %s', async (_case, fields, gzip) => {
    const xml = buildXml({ return_code: 'FAIL', ...fields });
    answer = (res) => text(res, gzip ? gzipSync(xml) : xml, 'text/xml');
    const bill = await gateway.downloadBill({ billDate: '20240301' });
    expect(bill).toEqual({
      found: false,
      billDate: '20240301',
      billType: 'ALL',
      returnMsg: fields.return_msg,
      ...(fields.error_code ? { errorCode: fields.error_code } : {}),
    });
    expect(calls.map((c) => c.result)).toEqual(['NO_BILL']);
  });

  it.each([
    ['Bill Creating', true],
    ['SYSTEMERROR', true],
    ['invalid bill_type', false],
    ['SIGN ERROR', false],
  ])('turns %s into a WechatPayReturnError with retryable=%s', async (returnMsg, retryable) => {
    answer = (res) =>
      text(res, `\n  ${buildXml({ return_code: 'FAIL', return_msg: returnMsg })}`, 'text/xml');
    const error = await failure(gateway.downloadBill({ billDate: '20240301' }));
    expect(error).toBeInstanceOf(WechatPayReturnError);
    expect(error).toMatchObject({ returnMsg, retryable });
  });

  it('tells Bill Creating by its text: retryable with an error_code too, which it keeps', async () => {
    // WeChat documents no error_code for Bill Creating; one must not change the reading.
    answer = (res) =>
      text(
        res,
        buildXml({ return_code: 'FAIL', return_msg: 'Bill Creating', error_code: '20001' }),
        'text/xml',
      );
    const error = await failure(gateway.downloadBill({ billDate: '20240301' }));
    expect(error).toBeInstanceOf(WechatPayReturnError);
    expect(error).toMatchObject({
      returnMsg: 'Bill Creating',
      retryable: true,
      errorCode: '20001',
    });
  });

  it.each<
    [string, (res: ServerResponse) => void, new (...args: never[]) => WechatPayError, RegExp]
  >([
    [
      'a corrupt gzip body',
      (res) =>
        text(res, Buffer.concat([gzipSync('x'.repeat(100)).subarray(0, 12), Buffer.alloc(40, 9)])),
      WechatPayProtocolError,
      /gzip body is corrupt/,
    ],
    [
      'an HTTP 500',
      (res) => {
        res.writeHead(500);
        res.end('busy');
      },
      WechatPayTransportError,
      /answered HTTP 500/,
    ],
    [
      'a bill cut before its summary',
      (res) => text(res, billText({ rows: ROWS }).split('总交易单数')[0]),
      WechatPayProtocolError,
      /ended before its summary/,
    ],
    ['an empty body', (res) => text(res, ''), WechatPayProtocolError, /the bill is empty/],
    [
      'XML that is not FAIL',
      (res) => text(res, buildXml({ return_code: 'SUCCESS' })),
      WechatPayProtocolError,
      /not a FAIL answer/,
    ],
  ])('refuses %s with a clear error', async (_case, send, type, message) => {
    answer = send;
    const error = await failure(gateway.downloadBill({ billDate: '20240301' }));
    expect(error).toBeInstanceOf(type);
    expect(error.message).toMatch(message);
  });

  it('refuses a bill date that does not exist or a bill type WeChat does not know, before sending', async () => {
    const before = host.seen.length;
    for (const request of [
      { billDate: '20240230' },
      { billDate: '2024-03-01' },
      { billDate: '20240301', billType: 'FULL' },
      { billDate: '20240301', tarType: 'ZIP' },
    ]) {
      await expect(gateway.downloadBill(request as never)).rejects.toBeInstanceOf(
        WechatPayRequestError,
      );
    }
    expect(host.seen.length).toBe(before);
  });
});

describe('downloadBillStream', () => {
  /** Serves a generated bill with backpressure, counting what it has written. */
  function streamingAnswer(
    count: number,
    stats: { written: number; total: number },
    stall?: number,
  ) {
    return (res: ServerResponse) => {
      res.writeHead(200, { 'Content-Type': 'text/plain;charset=utf-8' });
      const lines = generatedBillLines(count);
      let index = 0;
      const pump = (): void => {
        for (;;) {
          const next = lines.next();
          if (next.done) {
            res.end();
            return;
          }
          index += 1;
          stats.written += Buffer.byteLength(next.value);
          if (stall !== undefined && index === stall) return;
          if (!res.write(next.value)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      pump();
    };
  }

  it('parses 200,000 rows as they arrive, the host paused while the reader is, past maxBodyBytes', async () => {
    let total = 0;
    for (const line of generatedBillLines(200_000)) total += Buffer.byteLength(line);
    const stats = { written: 0, total };
    answer = streamingAnswer(200_000, stats);
    const bill = await gateway.downloadBillStream({ billDate: '20240301' });
    expect(bill.found).toBe(true);
    if (!bill.found) return;
    let count = 0;
    let fen = 0;
    let writtenWhilePaused = 0;
    for await (const row of bill.rows) {
      count += 1;
      fen += row.settlementTotalFee;
      if (count === 10) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        writtenWhilePaused = stats.written;
      }
    }
    expect(count).toBe(200_000);
    expect(bill.rows.summary?.totalCount).toBe(200_000);
    expect(bill.rows.summary?.settlementTotalFee).toBe(fen);
    // The bill is far larger than maxBodyBytes (64 KiB), and while the reader waited the host
    // could write no more than the socket buffers hold: a small part of the whole.
    expect(total).toBeGreaterThan(50 * 1024 * 1024);
    expect(writtenWhilePaused).toBeLessThan(total / 4);
    expect(calls).toEqual([
      { endpoint: '/pay/downloadbill', result: 'SUCCESS', durationMs: expect.any(Number) },
    ]);
  });

  it('releases the connection when the reader stops early, reported as CANCELLED', async () => {
    const stats = { written: 0, total: 0 };
    answer = streamingAnswer(200_000, stats);
    const bill = await gateway.downloadBillStream({ billDate: '20240301' });
    if (!bill.found) throw new Error('expected a bill');
    for await (const row of bill.rows) {
      expect(row.outTradeNo).toBe('ORDER0000000000');
      break;
    }
    expect(calls.map((c) => c.result)).toEqual(['CANCELLED']);
    const after = stats.written;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stats.written - after).toBeLessThan(8 * 1024 * 1024);
  });

  it('fails with a retryable READ_TIMEOUT when the host stalls in the middle of the bill', async () => {
    const quick = await gatewayWith({ readTimeoutMs: 300 });
    answer = streamingAnswer(1000, { written: 0, total: 0 }, 200);
    const bill = await quick.downloadBillStream({ billDate: '20240301' });
    if (!bill.found) throw new Error('expected a bill');
    const read: string[] = [];
    const error = await failure(
      (async () => {
        for await (const row of bill.rows) read.push(row.outTradeNo);
      })(),
    );
    expect(error).toMatchObject({ failure: 'READ_TIMEOUT', retryable: true });
    expect(read.length).toBeGreaterThan(100);
    expect(read.length).toBeLessThan(1000);
  });

  it('fails with a retryable NETWORK error when the connection breaks in the middle', async () => {
    answer = (res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '100000' });
      res.write(billText({ rows: ROWS }).slice(0, 800));
      setTimeout(() => res.socket?.destroy(), 50);
    };
    const error = await failure(gateway.downloadBill({ billDate: '20240301' }));
    expect(error).toBeInstanceOf(WechatPayTransportError);
    expect(error).toMatchObject({ failure: 'NETWORK', retryable: true });
  });

  it('refuses a bill past maxBillBytes', async () => {
    const capped = await gatewayWith({ maxBillBytes: 64 * 1024 });
    answer = streamingAnswer(5000, { written: 0, total: 0 });
    const error = await failure(capped.downloadBill({ billDate: '20240301' }));
    expect(error).toMatchObject({ failure: 'TOO_LARGE', retryable: false });
  });
});
