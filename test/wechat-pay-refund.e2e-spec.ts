import { randomInt, X509Certificate } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  MAX_FEN,
  WechatPayBusinessError,
  WechatPayConfigError,
  WechatPayError,
  WechatPayGateway,
  WechatPayModule,
  WechatPayProtocolError,
  WechatPayRequestError,
  WechatPayTransportError,
  type RefundRequest,
  type WechatPayGatewayCallEvent,
  type WechatPayModuleOptions,
} from 'nestjs-wechat-pay-v2';
import { CertificateFiles, TestCa, type Pem } from './fixtures/certificates';
import { FakeWechatTls } from './fixtures/fake-wechat-tls';

/**
 * Refunds against a WeChat host over real TLS that asks every connection for a client
 * certificate: certificates made for the test by its own CA, p12 files written by openssl,
 * signatures with the merchant key.
 */
const MERCHANT = {
  appId: 'wxd930ea5d5a258f4f',
  mchId: '1900000109',
  apiKey: '192006250b4c09247ec02edce69f6a2d',
};
const TRANSACTION_ID = '4200000288201903177135850941';

const files = new CertificateFiles();
const ca = new TestCa();
const calls: WechatPayGatewayCallEvent[] = [];
let merchantPem: Pem;
let fingerprint: string;
let host: FakeWechatTls;
let caPath: string;
let p12: string;
const modules: TestingModule[] = [];

/** What the fake host keeps per out_refund_no: WeChat's idempotency key. */
const refunds = new Map<
  string,
  { refundId: string; totalFee: string; refundFee: string; outTradeNo: string }
>();
/** The next refund answers: an err_code, or 'HANG' to accept and never answer. */
const nextRefundAnswers: string[] = [];

async function gatewayWith(options: Partial<WechatPayModuleOptions>): Promise<WechatPayGateway> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      WechatPayModule.forRoot({
        ...MERCHANT,
        baseUrl: host.url,
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

const request = (overrides: Partial<RefundRequest> = {}): RefundRequest =>
  ({
    outTradeNo: 'ORDER-0001',
    outRefundNo: `R${Date.now()}${randomInt(1_000_000)}`,
    totalFee: 1000,
    refundFee: 300,
    ...overrides,
  }) as RefundRequest;

beforeAll(async () => {
  merchantPem = ca.merchant(MERCHANT.mchId);
  fingerprint = new X509Certificate(merchantPem.cert).fingerprint256;
  caPath = files.write('ca.pem', ca.pem.cert);
  p12 = files.p12('apiclient_cert.p12', merchantPem, MERCHANT.mchId);
  host = new FakeWechatTls({ server: ca.server(), ca: ca.pem.cert, ...MERCHANT });
  host.handlers.set('/secapi/pay/refund', (_seen, _res, reply) => {
    const fields = _seen.fields;
    const planned = nextRefundAnswers.shift();
    const known = refunds.get(fields.out_refund_no);
    if (planned !== undefined && planned !== 'HANG') {
      reply({ result_code: 'FAIL', err_code: planned, err_code_des: `${planned} (test)` });
      return;
    }
    if (known && (known.totalFee !== fields.total_fee || known.refundFee !== fields.refund_fee)) {
      reply({
        result_code: 'FAIL',
        err_code: 'REFUND_FEE_MISMATCH',
        err_code_des: '订单金额或退款金额与之前请求不一致',
      });
      return;
    }
    const refund = known ?? {
      refundId: `5000020370201707260146171${String(refunds.size).padStart(4, '0')}`,
      totalFee: fields.total_fee,
      refundFee: fields.refund_fee,
      outTradeNo: fields.out_trade_no ?? 'ORDER-0001',
    };
    refunds.set(fields.out_refund_no, refund);
    if (planned === 'HANG') return;
    reply({
      transaction_id: TRANSACTION_ID,
      out_trade_no: refund.outTradeNo,
      out_refund_no: fields.out_refund_no,
      refund_id: refund.refundId,
      refund_fee: refund.refundFee,
      settlement_refund_fee: refund.refundFee,
      total_fee: refund.totalFee,
      cash_fee: refund.totalFee,
      cash_refund_fee: refund.refundFee,
      coupon_refund_fee: '0',
      coupon_refund_count: '0',
    });
  });
  await host.start();
});

afterAll(async () => {
  await Promise.all(modules.map((m) => m.close()));
  await host.stop();
  files.remove();
});

beforeEach(() => {
  calls.length = 0;
  nextRefundAnswers.length = 0;
});

describe('refund over mutual TLS', () => {
  let gateway: WechatPayGateway;

  beforeAll(async () => {
    gateway = await gatewayWith({ certP12: p12, caCert: caPath });
  });

  it('sends the signed refund with the merchant certificate and returns the typed result', async () => {
    const before = host.seen.length;
    const result = await gateway.refund(
      request({
        outRefundNo: 'R-TYPED-0001',
        refundDesc: '商品已退货',
        notifyUrl: 'https://shop.example.com/wechat-pay/refund-notify',
        refundAccount: 'REFUND_SOURCE_UNSETTLED_FUNDS',
      }),
    );
    expect(result).toMatchObject({
      outRefundNo: 'R-TYPED-0001',
      refundId: expect.stringMatching(/^\d{29}$/),
      outTradeNo: 'ORDER-0001',
      transactionId: TRANSACTION_ID,
      totalFee: 1000,
      refundFee: 300,
      settlementRefundFee: 300,
      cashFee: 1000,
      cashRefundFee: 300,
      couponRefundFee: 0,
      coupons: [],
    });
    const [seen] = host.seen.slice(before);
    expect(seen.path).toBe('/secapi/pay/refund');
    expect(seen.clientFingerprint).toBe(fingerprint);
    expect(seen.fields).toMatchObject({
      appid: MERCHANT.appId,
      mch_id: MERCHANT.mchId,
      out_trade_no: 'ORDER-0001',
      out_refund_no: 'R-TYPED-0001',
      total_fee: '1000',
      refund_fee: '300',
      refund_desc: '商品已退货',
      notify_url: 'https://shop.example.com/wechat-pay/refund-notify',
      refund_account: 'REFUND_SOURCE_UNSETTLED_FUNDS',
      sign_type: 'HMAC-SHA256',
    });
    expect(calls).toEqual([
      { endpoint: '/secapi/pay/refund', result: 'SUCCESS', durationMs: expect.any(Number) },
    ]);
  });

  it('presents the certificate on every request of a reused keep-alive socket, and never on the other pool', async () => {
    const before = host.seen.length;
    const connections = host.connectionCount;
    await gateway.refund(request());
    await gateway.orderQuery({ outTradeNo: 'ORDER-0001' }).catch(() => undefined);
    await gateway.refund(request());
    await gateway.refund(request());
    const seen = host.seen.slice(before);
    const refundsSeen = seen.filter((s) => s.path === '/secapi/pay/refund');
    expect(refundsSeen).toHaveLength(3);
    // One connection carried all three refunds: the same socket, reused.
    expect(new Set(refundsSeen.map((s) => s.connection)).size).toBe(1);
    expect(refundsSeen.map((s) => s.clientFingerprint)).toEqual([
      fingerprint,
      fingerprint,
      fingerprint,
    ]);
    const query = seen.find((s) => s.path === '/pay/orderquery');
    expect(query?.clientFingerprint).toBeUndefined();
    expect(query?.connection).not.toBe(refundsSeen[0].connection);
    expect(host.connectionCount - connections).toBeLessThanOrEqual(2);
  });

  it('reports a refund that timed out after WeChat accepted it as retryable; the retry with the same number is the same refund', async () => {
    const impatient = await gatewayWith({ certP12: p12, caCert: caPath, readTimeoutMs: 300 });
    const same = request({ outRefundNo: 'R-TIMEOUT-0001' });
    nextRefundAnswers.push('HANG');
    const error = await failure(impatient.refund(same));
    expect(error).toBeInstanceOf(WechatPayTransportError);
    expect(error).toMatchObject({ failure: 'READ_TIMEOUT', retryable: true });
    expect(refunds.has('R-TIMEOUT-0001')).toBe(true);

    const retried = await impatient.refund(same);
    expect(retried.refundId).toBe(refunds.get('R-TIMEOUT-0001')?.refundId);
    expect([...refunds.keys()].filter((no) => no === 'R-TIMEOUT-0001')).toHaveLength(1);
  });

  it.each([
    ['SYSTEMERROR', true],
    ['BIZERR_NEED_RETRY', true],
    ['REFUND_FEE_MISMATCH', false],
    ['ERROR', false],
    ['NOTENOUGH', false],
    ['ORDERNOTEXIST', false],
  ])('reports %s with retryable=%s', async (errCode, retryable) => {
    nextRefundAnswers.push(errCode);
    const error = await failure(gateway.refund(request()));
    expect(error).toBeInstanceOf(WechatPayBusinessError);
    expect(error).toMatchObject({ errCode, retryable });
    expect(calls.map((c) => c.result)).toEqual([errCode]);
  });

  it('gets REFUND_FEE_MISMATCH, not a second refund, for the same number with other amounts', async () => {
    const first = request({ outRefundNo: 'R-MISMATCH-01' });
    await gateway.refund(first);
    const error = await failure(gateway.refund({ ...first, refundFee: 301 }));
    expect(error).toMatchObject({ errCode: 'REFUND_FEE_MISMATCH', retryable: false });
  });

  it('refuses an answer about another refund or with other amounts', async () => {
    const original = host.handlers.get('/secapi/pay/refund');
    host.handlers.set('/secapi/pay/refund', (seen, _res, reply) =>
      reply({
        out_refund_no:
          seen.fields.out_refund_no === 'R-OTHER-AMOUNT' ? 'R-OTHER-AMOUNT' : 'R-SOMEONE-ELSE',
        refund_id: '50000203702017072601461713166',
        out_trade_no: 'ORDER-0001',
        transaction_id: TRANSACTION_ID,
        total_fee: '1000',
        refund_fee: '999',
      }),
    );
    try {
      const other = await failure(gateway.refund(request()));
      expect(other).toBeInstanceOf(WechatPayProtocolError);
      expect(other.message).toContain('another out_refund_no');
      const amounts = await failure(gateway.refund(request({ outRefundNo: 'R-OTHER-AMOUNT' })));
      expect(amounts.message).toContain('other amounts than requested');
    } finally {
      host.handlers.set('/secapi/pay/refund', original as never);
    }
  });

  it.each<[string, Partial<RefundRequest>, string]>([
    ['outRefundNo with a space', { outRefundNo: 'R 1' }, 'outRefundNo'],
    ['outRefundNo of 65 characters', { outRefundNo: 'R'.repeat(65) }, 'outRefundNo'],
    ['outRefundNo with a #', { outRefundNo: 'R#1' }, 'outRefundNo'],
    ['refundFee above totalFee', { refundFee: 1001 }, 'refundFee'],
    ['refundFee of 0', { refundFee: 0 }, 'refundFee'],
    ['refundFee in yuan', { refundFee: 2.5 }, 'refundFee'],
    ['totalFee past MAX_FEN', { totalFee: MAX_FEN + 1 }, 'totalFee'],
    ['a description of 81 characters', { refundDesc: '退'.repeat(81) }, 'refundDesc'],
    ['a notify URL with a query', { notifyUrl: 'https://a.example/n?x=1' }, 'notifyUrl'],
    [
      'both order references',
      { transactionId: TRANSACTION_ID } as Partial<RefundRequest>,
      'transactionId',
    ],
  ])('refuses %s before sending', async (_case, overrides, field) => {
    const before = host.seen.length;
    const error = await failure(gateway.refund({ ...request(), ...overrides } as RefundRequest));
    expect(error).toBeInstanceOf(WechatPayRequestError);
    expect((error as WechatPayRequestError).field).toBe(field);
    expect(host.seen.length).toBe(before);
  });

  it('accepts the documented charset 0-9 A-Z a-z _ - | * @ and 64 characters', async () => {
    const outRefundNo = `Az09_-|*@${'x'.repeat(55)}`;
    expect(outRefundNo).toHaveLength(64);
    expect((await gateway.refund(request({ outRefundNo }))).outRefundNo).toBe(outRefundNo);
  });
});

describe('refund configuration', () => {
  it('fails before sending when no certificate is configured, saying what to set', async () => {
    const gateway = await gatewayWith({ caCert: caPath });
    const before = host.seen.length;
    const error = await failure(gateway.refund(request()));
    expect(error).toBeInstanceOf(WechatPayConfigError);
    expect(error.message).toContain('set certP12 (apiclient_cert.p12) or certPem and keyPem');
    expect(host.seen.length).toBe(before);
    expect(calls.map((c) => c.result)).toEqual(['CONFIG_INVALID']);
  });

  it('reads a legacy RC2-40 p12 and presents it as WeChat requires', async () => {
    const legacy = files.p12('legacy.p12', merchantPem, MERCHANT.mchId, true);
    const gateway = await gatewayWith({ certP12: legacy, caCert: caPath });
    const before = host.seen.length;
    await gateway.refund(request());
    expect(host.seen[before].clientFingerprint).toBe(fingerprint);
  });

  it('works the same with the PEM pair', async () => {
    const gateway = await gatewayWith({
      certPem: merchantPem.cert,
      keyPem: merchantPem.key,
      caCert: caPath,
    });
    const before = host.seen.length;
    await gateway.refund(request());
    expect(host.seen[before].clientFingerprint).toBe(fingerprint);
  });

  it("gets CERT_ERROR, not retryable, with another merchant's certificate", async () => {
    const other = ca.merchant('1900000110');
    const gateway = await gatewayWith({ certPem: other.cert, keyPem: other.key, caCert: caPath });
    const error = await failure(gateway.refund(request()));
    expect(error).toMatchObject({ errCode: 'CERT_ERROR', retryable: false });
  });

  it('refuses an untrusted server certificate (no caCert) with a TLS error that is not retryable', async () => {
    const gateway = await gatewayWith({ certP12: p12 });
    const error = await failure(gateway.refund(request()));
    expect(error).toBeInstanceOf(WechatPayTransportError);
    expect(error).toMatchObject({ failure: 'TLS', retryable: false });
    expect(error.message).toMatch(
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/,
    );
  });

  it('stops the module at start-up on a wrong passphrase', async () => {
    await expect(
      Test.createTestingModule({
        imports: [
          WechatPayModule.forRoot({
            ...MERCHANT,
            certP12: p12,
            certPassphrase: 'not-the-mch-id',
            notifyController: false,
            refundNotifyController: false,
          }),
        ],
      }).compile(),
    ).rejects.toThrow(WechatPayConfigError);
  });
});

describe('refundQuery', () => {
  let gateway: WechatPayGateway;
  let answer: Record<string, string>;

  beforeAll(async () => {
    gateway = await gatewayWith({ caCert: caPath });
    host.handlers.set('/pay/refundquery', (seen, _res, reply) => {
      if (seen.fields.out_refund_no === 'R-NONE') {
        reply({ result_code: 'FAIL', err_code: 'REFUNDNOTEXIST', err_code_des: 'not exist' });
        return;
      }
      reply(answer);
    });
  });

  beforeEach(() => {
    answer = {
      transaction_id: TRANSACTION_ID,
      out_trade_no: 'ORDER-0001',
      total_fee: '1000',
      cash_fee: '1000',
      fee_type: 'CNY',
      refund_count: '2',
      refund_fee: '500',
      out_refund_no_0: 'R-A',
      refund_id_0: '50000203702017072601461713166',
      refund_channel_0: 'ORIGINAL',
      refund_fee_0: '300',
      settlement_refund_fee_0: '300',
      refund_status_0: 'SUCCESS',
      refund_account_0: 'REFUND_SOURCE_UNSETTLED_FUNDS',
      refund_recv_accout_0: '支付用户的零钱',
      refund_success_time_0: '2024-03-01 12:00:05',
      out_refund_no_1: 'R-B',
      refund_id_1: '50000203702017072601461713167',
      refund_fee_1: '200',
      coupon_refund_fee_1: '50',
      coupon_refund_count_1: '2',
      coupon_type_1_0: 'CASH',
      coupon_refund_id_1_0: '10000',
      coupon_refund_fee_1_0: '30',
      coupon_refund_id_1_1: '10001',
      coupon_refund_fee_1_1: '20',
      refund_status_1: 'PROCESSING',
      refund_recv_accout_1: '招商银行信用卡0403',
    };
  });

  it('turns the _$n fields into a typed list, coupons nested, success time parsed', async () => {
    const result = await gateway.refundQuery({ outTradeNo: 'ORDER-0001' });
    expect(result.found).toBe(true);
    if (!result.found) return;
    expect(result).toMatchObject({
      outTradeNo: 'ORDER-0001',
      transactionId: TRANSACTION_ID,
      totalFee: 1000,
      refundCount: 2,
    });
    expect(result.refunds).toEqual([
      {
        outRefundNo: 'R-A',
        refundId: '50000203702017072601461713166',
        status: 'SUCCESS',
        refundFee: 300,
        settlementRefundFee: 300,
        refundChannel: 'ORIGINAL',
        refundAccount: 'REFUND_SOURCE_UNSETTLED_FUNDS',
        refundRecvAccount: '支付用户的零钱',
        successTime: '2024-03-01 12:00:05',
        successAt: new Date('2024-03-01T04:00:05.000Z'),
        coupons: [],
      },
      {
        outRefundNo: 'R-B',
        refundId: '50000203702017072601461713167',
        status: 'PROCESSING',
        refundFee: 200,
        couponRefundFee: 50,
        refundRecvAccount: '招商银行信用卡0403',
        coupons: [
          { type: 'CASH', refundId: '10000', refundFee: 30 },
          { refundId: '10001', refundFee: 20 },
        ],
      },
    ]);
  });

  it('sends the one reference given and the offset, and reads total_refund_count', async () => {
    answer = { ...answer, total_refund_count: '12' };
    const before = host.seen.length;
    const result = await gateway.refundQuery({ transactionId: TRANSACTION_ID, offset: 10 });
    expect(result.found && result.totalRefundCount).toBe(12);
    expect(host.seen[before].fields).toMatchObject({
      transaction_id: TRANSACTION_ID,
      offset: '10',
    });
    expect(host.seen[before].fields).not.toHaveProperty('out_trade_no');
    for (const query of [{ refundId: '50000203702017072601461713166' }, { outRefundNo: 'R-B' }]) {
      expect((await gateway.refundQuery(query)).found).toBe(true);
    }
  });

  it('reads a page whose _$n are numbered from the offset as well as one numbered from 0', async () => {
    // Whether an offset page restarts at _0 is not documented: both numberings read the same.
    const renumbered: Record<string, string> = { total_refund_count: '12' };
    for (const [name, value] of Object.entries(answer)) {
      renumbered[
        name.replace(/_([01])(_\d+)?$/, (_m, n: string, m = '') => `_${Number(n) + 10}${m}`)
      ] = value;
    }
    const fromOffset = await gateway.refundQuery({ outTradeNo: 'ORDER-0001', offset: 10 });
    answer = renumbered;
    const fromTen = await gateway.refundQuery({ outTradeNo: 'ORDER-0001', offset: 10 });
    expect(renumbered).toHaveProperty('out_refund_no_11', 'R-B');
    expect(renumbered).toHaveProperty('coupon_refund_fee_11_1', '20');
    expect(fromTen.found && fromTen.refunds).toEqual(fromOffset.found && fromOffset.refunds);
    expect(fromTen.found && fromTen.refunds.map((r) => r.outRefundNo)).toEqual(['R-A', 'R-B']);
  });

  it('returns found: false for REFUNDNOTEXIST, reported to the hooks as that err_code', async () => {
    await expect(gateway.refundQuery({ outRefundNo: 'R-NONE' })).resolves.toEqual({
      found: false,
      errCode: 'REFUNDNOTEXIST',
      errCodeDes: 'not exist',
    });
    expect(calls.map((c) => [c.endpoint, c.result])).toEqual([
      ['/pay/refundquery', 'REFUNDNOTEXIST'],
    ]);
  });

  it.each<[string, (a: Record<string, string>) => Record<string, string>, RegExp]>([
    [
      'a refund_count that differs from the refunds listed',
      (a) => ({ ...a, refund_count: '3' }),
      /refund_count says 3/,
    ],
    [
      'an unknown refund status',
      (a) => ({ ...a, refund_status_1: 'DONE' }),
      /refund_status_1 is not a known/,
    ],
    [
      'an answer about another order',
      (a) => ({ ...a, out_trade_no: 'ORDER-9' }),
      /about something else/,
    ],
    [
      'an amount in yuan',
      (a) => ({ ...a, refund_fee_0: '3.00' }),
      /refund_fee_0 is not an integer amount/,
    ],
  ])('refuses %s', async (_case, change, message) => {
    answer = change(answer);
    const error = await failure(gateway.refundQuery({ outTradeNo: 'ORDER-0001' }));
    expect(error).toBeInstanceOf(WechatPayProtocolError);
    expect(error.message).toMatch(message);
  });

  it('refuses a query with no reference or two', async () => {
    for (const query of [
      {},
      { outTradeNo: 'ORDER-0001', outRefundNo: 'R-A' },
      { outTradeNo: 'ORDER-0001', offset: -1 },
    ]) {
      await expect(gateway.refundQuery(query as never)).rejects.toBeInstanceOf(
        WechatPayRequestError,
      );
    }
  });
});

describe('orderQuery of a refunded order', () => {
  it('reports trade_state REFUND as paid, with every payment field', async () => {
    host.handlers.set('/pay/orderquery', (_seen, _res, reply) =>
      reply({
        device_info: '',
        openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
        is_subscribe: 'N',
        trade_type: 'JSAPI',
        trade_state: 'REFUND',
        bank_type: 'CMC',
        total_fee: '1000',
        cash_fee: '1000',
        fee_type: 'CNY',
        transaction_id: TRANSACTION_ID,
        out_trade_no: 'ORDER-0001',
        attach: '',
        time_end: '20240301120000',
        trade_state_desc: '订单发生过退款，退款详情请查询退款单',
      }),
    );
    const gateway = await gatewayWith({ caCert: caPath });
    const result = await gateway.orderQuery({ outTradeNo: 'ORDER-0001' });
    expect(result).toMatchObject({
      tradeState: 'REFUND',
      tradeStateDesc: '订单发生过退款，退款详情请查询退款单',
      transactionId: TRANSACTION_ID,
      totalFee: 1000,
      cashFee: 1000,
      timeEnd: '20240301120000',
    });
  });
});
