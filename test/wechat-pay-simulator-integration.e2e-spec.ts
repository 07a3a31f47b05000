import { readFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import {
  WechatPayBusinessError,
  WechatPayError,
  WechatPayGateway,
  WechatPayModule,
  WechatPayNotifyHandler,
  WechatPayRefundHandler,
  WechatPayReturnError,
  WechatPayTransportError,
  type PaymentNotification,
  type RefundNotification,
  type RefundQueryFound,
  type RefundQueryResult,
  type SignType,
  type WechatPayModuleOptions,
} from 'nestjs-wechat-pay-v2';
import {
  startSimulator,
  TEST_MERCHANT,
  waitFor,
  type RunningSimulator,
  type SimulatorMerchant,
} from 'wechat-pay-v2-simulator';
import { billTotals, refundWithRetry } from './wechat-pay-readme-example';
import { newOrderNo } from './simulator-support';

/**
 * The library and the simulator together, as a shop uses them: the library's gateway calls the
 * simulator over real mutual TLS with the certificate files the simulator issued, the library's
 * refund route receives the simulator's encrypted refund notifications, and the library parses
 * the bills the simulator writes from the very orders and refunds made here.
 */

const HMAC_MERCHANT: SimulatorMerchant = {
  appId: 'wx0000000000000d05',
  mchId: '1900000405',
  apiKey: 'HmacIntegrationKey0123456789abcd',
  appSecret: 'hmac-integration-secret',
};
const PAYER = 'oIntegrationPayer0000000000001';

@Injectable()
class ShopListener {
  readonly refunds: RefundNotification[] = [];
  readonly payments: PaymentNotification[] = [];

  @WechatPayRefundHandler()
  onRefund(event: RefundNotification): void {
    this.refunds.push(event);
  }

  @WechatPayNotifyHandler()
  onPaid(event: PaymentNotification): void {
    this.payments.push(event);
  }
}

interface Shop {
  app: INestApplication;
  gateway: WechatPayGateway;
  listener: ShopListener;
  /** Where the shop's routes are: `http://127.0.0.1:<port>`. */
  url: string;
}

/** A host app with the library's gateway and both notification routes, listening on a real port. */
async function startShop(
  merchant: SimulatorMerchant,
  signType: SignType,
  options: Partial<WechatPayModuleOptions>,
  adapter: 'express' | 'fastify' = 'express',
): Promise<Shop> {
  @Module({
    imports: [
      WechatPayModule.forRoot({
        appId: merchant.appId,
        mchId: merchant.mchId,
        apiKey: merchant.apiKey,
        signType,
        notifyUrl: 'http://127.0.0.1:9/unused',
        readTimeoutMs: 2000,
        ...options,
      }),
    ],
    providers: [ShopListener],
  })
  class ShopModule {}
  const moduleRef = await Test.createTestingModule({ imports: [ShopModule] }).compile();
  const app =
    adapter === 'express'
      ? moduleRef.createNestApplication({ logger: false })
      : moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), {
          logger: false,
        });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    gateway: app.get(WechatPayGateway),
    listener: app.get(ShopListener),
    url: `http://127.0.0.1:${address.port}`,
  };
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

function found(result: RefundQueryResult): RefundQueryFound {
  if (!result.found) throw new Error(`expected refunds, got ${result.errCode}`);
  return result;
}

/** A TCP relay that counts the connections made through it. */
class CountingRelay {
  connections = 0;
  private readonly sockets = new Set<Socket>();
  private server?: Server;

  async start(targetPort: number): Promise<number> {
    this.server = createServer((client) => {
      this.connections += 1;
      const upstream = connect(targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

describe('the library against the simulator over mutual TLS: refunds', () => {
  let sim: RunningSimulator;
  const shops: Shop[] = [];

  beforeAll(async () => {
    sim = await startSimulator({ merchants: [TEST_MERCHANT, HMAC_MERCHANT], timeScale: 0.001 });
  });

  afterEach(() => sim.controls.resetFaults());

  afterAll(async () => {
    await Promise.all(shops.splice(0).map((shop) => shop.app.close()));
    await sim.stop();
  });

  async function shopFor(
    merchant: SimulatorMerchant,
    signType: SignType,
    options: Partial<WechatPayModuleOptions> = {},
    adapter: 'express' | 'fastify' = 'express',
  ): Promise<Shop> {
    const files = sim.certificates.find((c) => c.mchId === merchant.mchId);
    if (!files) throw new Error(`the simulator issued no certificate for ${merchant.mchId}`);
    const shop = await startShop(
      merchant,
      signType,
      {
        baseUrl: sim.tlsBaseUrl,
        caCert: sim.caPem,
        certP12: files.p12,
        ...options,
      },
      adapter,
    );
    shops.push(shop);
    return shop;
  }

  /** An order the payer paid through the simulator's wx.requestPayment. */
  async function paidOrder(
    shop: Shop,
    merchant: SimulatorMerchant,
    totalFee: number,
  ): Promise<{ outTradeNo: string; transactionId: string }> {
    const outTradeNo = newOrderNo('IT');
    const { payParams } = await shop.gateway.createJsapiPayment({
      outTradeNo,
      body: '集成测试-咖啡',
      totalFee,
      openid: PAYER,
      spbillCreateIp: '127.0.0.1',
      notifyUrl: `${shop.url}/wechat-pay/notify`,
    });
    const paid = sim.controls.requestPayment({
      ...payParams,
      openid: PAYER,
      appid: merchant.appId,
    });
    expect(paid).toEqual({ errMsg: 'requestPayment:ok' });
    const order = await shop.gateway.orderQuery({ outTradeNo });
    if (order.tradeState !== 'SUCCESS') throw new Error(`order is ${order.tradeState}`);
    return { outTradeNo, transactionId: order.transactionId };
  }

  const refundNotifyUrl = (shop: Shop) => `${shop.url}/wechat-pay/refund-notify`;

  describe.each([
    ['an MD5 merchant on Express', TEST_MERCHANT, 'MD5', 'express'],
    ['an HMAC-SHA256 merchant on Fastify', HMAC_MERCHANT, 'HMAC-SHA256', 'fastify'],
  ] as const)('for %s', (_label, merchant, signType, adapter) => {
    let shop: Shop;

    beforeAll(async () => {
      shop = await shopFor(merchant, signType, {}, adapter);
    });

    it('refunds in full, gets the refund notification decrypted by its own route, and reads it back by all four references', async () => {
      const { outTradeNo, transactionId } = await paidOrder(shop, merchant, 1234);
      const outRefundNo = `${outTradeNo}-R1`;
      const accepted = await shop.gateway.refund({
        outTradeNo,
        outRefundNo,
        totalFee: 1234,
        refundFee: 1234,
        refundDesc: '整单退款',
        notifyUrl: refundNotifyUrl(shop),
      });
      expect(accepted).toMatchObject({
        outRefundNo,
        outTradeNo,
        transactionId,
        totalFee: 1234,
        refundFee: 1234,
        cashFee: 1234,
      });
      expect(accepted.refundId).toMatch(/^\d{29}$/);
      expect(sim.controls.refund(outRefundNo)?.refundId).toBe(accepted.refundId);

      const event = await waitFor(
        () => shop.listener.refunds.find((e) => e.outRefundNo === outRefundNo),
        5000,
      );
      expect(event).toMatchObject({
        appId: merchant.appId,
        mchId: merchant.mchId,
        refundStatus: 'SUCCESS',
        refundId: accepted.refundId,
        outTradeNo,
        transactionId,
        totalFee: 1234,
        refundFee: 1234,
        refundRequestSource: 'API',
      });
      const view = sim.controls.refund(outRefundNo);
      expect(event.successTime).toBe(view?.successTime);
      expect(event.successAt?.toISOString()).toBe(view?.endedAt?.replace(/\.\d{3}Z$/, '.000Z'));
      // The route's reply is what the simulator needs to stop re-sending.
      const sends = await sim.controls.waitForRefundNotifications((all) =>
        all.some((a) => a.outRefundNo === outRefundNo && a.outcome === 'delivered'),
      );
      expect(sends.filter((a) => a.outRefundNo === outRefundNo).map((a) => a.outcome)).toEqual([
        'delivered',
      ]);

      const references = [
        { refundId: accepted.refundId },
        { outRefundNo },
        { transactionId },
        { outTradeNo },
      ];
      for (const reference of references) {
        const answer = found(await shop.gateway.refundQuery(reference));
        expect(answer).toMatchObject({ outTradeNo, transactionId, totalFee: 1234, refundCount: 1 });
        expect(answer.refunds).toEqual([
          expect.objectContaining({
            outRefundNo,
            refundId: accepted.refundId,
            status: 'SUCCESS',
            refundFee: 1234,
            refundChannel: 'ORIGINAL',
            refundAccount: 'REFUND_SOURCE_UNSETTLED_FUNDS',
            refundRecvAccount: view?.recvAccount,
            successTime: view?.successTime,
          }),
        ]);
      }
      const order = await shop.gateway.orderQuery({ outTradeNo });
      expect(order).toMatchObject({ tradeState: 'REFUND', totalFee: 1234, transactionId });
    });

    it('makes two partial refunds by transaction id, repeats one safely, and is refused final errors beyond the amount', async () => {
      const { outTradeNo, transactionId } = await paidOrder(shop, merchant, 1000);
      const first = await shop.gateway.refund({
        transactionId,
        outRefundNo: `${outTradeNo}-A`,
        totalFee: 1000,
        refundFee: 300,
      });
      const again = await shop.gateway.refund({
        transactionId,
        outRefundNo: `${outTradeNo}-A`,
        totalFee: 1000,
        refundFee: 300,
      });
      expect(again.refundId).toBe(first.refundId);

      const mismatch = await failure(
        shop.gateway.refund({
          transactionId,
          outRefundNo: `${outTradeNo}-A`,
          totalFee: 1000,
          refundFee: 301,
        }),
      );
      expect(mismatch).toBeInstanceOf(WechatPayBusinessError);
      expect(mismatch).toMatchObject({ errCode: 'REFUND_FEE_MISMATCH', retryable: false });

      const beyond = await failure(
        shop.gateway.refund({
          transactionId,
          outRefundNo: `${outTradeNo}-B`,
          totalFee: 1000,
          refundFee: 701,
        }),
      );
      expect(beyond).toMatchObject({ errCode: 'INVALID_REQUEST', retryable: false });

      const second = await shop.gateway.refund({
        transactionId,
        outRefundNo: `${outTradeNo}-B`,
        totalFee: 1000,
        refundFee: 700,
      });
      expect(second.refundId).not.toBe(first.refundId);
      const full = await failure(
        shop.gateway.refund({
          transactionId,
          outRefundNo: `${outTradeNo}-C`,
          totalFee: 1000,
          refundFee: 1,
        }),
      );
      expect(full).toMatchObject({
        errCode: 'ERROR',
        errCodeDes: '订单已全额退款',
        retryable: false,
      });

      // One refund at WeChat per number, whatever was repeated or refused.
      expect(sim.controls.refunds(outTradeNo).map((r) => [r.outRefundNo, r.refundFee])).toEqual([
        [`${outTradeNo}-A`, 300],
        [`${outTradeNo}-B`, 700],
      ]);
      const listed = found(await shop.gateway.refundQuery({ outTradeNo }));
      expect(listed.refunds.map((r) => [r.outRefundNo, r.refundId, r.refundFee])).toEqual([
        [`${outTradeNo}-A`, first.refundId, 300],
        [`${outTradeNo}-B`, second.refundId, 700],
      ]);
    });

    it('signs downloadbill with its algorithm: today is Bill Creating, not SIGN ERROR', async () => {
      const today = sim.controls.now();
      const error = await failure(shop.gateway.downloadBill({ billDate: today, tarType: 'GZIP' }));
      expect(error).toBeInstanceOf(WechatPayReturnError);
      expect(error).toMatchObject({ returnMsg: 'Bill Creating', retryable: true });
    });

    it('is answered ORDERNOTEXIST, not retryable, for an order that was never paid', async () => {
      const outTradeNo = newOrderNo('IT');
      await shop.gateway.unifiedOrder({
        outTradeNo,
        body: '未支付',
        totalFee: 500,
        openid: PAYER,
        spbillCreateIp: '127.0.0.1',
      });
      const error = await failure(
        shop.gateway.refund({
          outTradeNo,
          outRefundNo: `${outTradeNo}-R`,
          totalFee: 500,
          refundFee: 500,
        }),
      );
      expect(error).toMatchObject({ errCode: 'ORDERNOTEXIST', retryable: false });
      expect(sim.controls.refunds(outTradeNo)).toEqual([]);
      expect(await shop.gateway.refundQuery({ outTradeNo })).toMatchObject({
        found: false,
        errCode: 'REFUNDNOTEXIST',
      });
    });
  });

  describe('errors and doubt', () => {
    let shop: Shop;

    beforeAll(async () => {
      shop = await shopFor(TEST_MERCHANT, 'MD5', { readTimeoutMs: 800 });
    });

    it.each([
      ['SYSTEMERROR', true],
      ['BIZERR_NEED_RETRY', true],
      ['NOTENOUGH', false],
    ] as const)(
      'classifies %s from the simulator as retryable=%s and nothing is refunded',
      async (errCode, retryable) => {
        const { outTradeNo } = await paidOrder(shop, TEST_MERCHANT, 800);
        sim.controls.setFaults({ businessErrors: [{ path: '/secapi/pay/refund', errCode }] });
        const error = await failure(
          shop.gateway.refund({
            outTradeNo,
            outRefundNo: `${outTradeNo}-R`,
            totalFee: 800,
            refundFee: 800,
          }),
        );
        expect(error).toBeInstanceOf(WechatPayBusinessError);
        expect(error).toMatchObject({ errCode, retryable });
        expect(sim.controls.refunds(outTradeNo)).toEqual([]);
      },
    );

    it('retries a refund that timed out after the simulator accepted it with the same number: one refund at WeChat', async () => {
      const { outTradeNo } = await paidOrder(shop, TEST_MERCHANT, 900);
      const request = {
        outTradeNo,
        outRefundNo: `${outTradeNo}-R`,
        totalFee: 900,
        refundFee: 400,
      };
      sim.controls.setFaults({ refundNoAnswerNext: 1 });
      const timeout = await failure(shop.gateway.refund(request));
      expect(timeout).toBeInstanceOf(WechatPayTransportError);
      expect(timeout).toMatchObject({ failure: 'READ_TIMEOUT', retryable: true });
      expect(sim.controls.refunds(outTradeNo)).toHaveLength(1);

      const retried = await shop.gateway.refund(request);
      expect(retried.refundId).toBe(sim.controls.refunds(outTradeNo)[0].refundId);
      expect(sim.controls.refunds(outTradeNo)).toHaveLength(1);
    });

    it("runs the README's refundWithRetry: a refund that timed out is repeated with its number, one refund at WeChat", async () => {
      const { outTradeNo } = await paidOrder(shop, TEST_MERCHANT, 500);
      sim.controls.setFaults({ refundNoAnswerNext: 1 });
      const refund = { outTradeNo, outRefundNo: `${outTradeNo}-R`, totalFee: 500, refundFee: 200 };
      const result = await refundWithRetry(shop.gateway, refund, { pauseMs: 10 });
      expect(sim.controls.refunds(outTradeNo).map((r) => r.refundId)).toEqual([result.refundId]);
      sim.controls.setFaults({
        businessErrors: [{ path: '/secapi/pay/refund', errCode: 'NOTENOUGH' }],
      });
      const final = await failure(
        refundWithRetry(shop.gateway, { ...refund, outRefundNo: `${outTradeNo}-N`, refundFee: 1 }),
      );
      expect(final).toMatchObject({ errCode: 'NOTENOUGH', retryable: false });
    });

    it('retries a refund answered SYSTEMERROR after acceptance with the same number: the same refund', async () => {
      const { outTradeNo } = await paidOrder(shop, TEST_MERCHANT, 900);
      const request = {
        outTradeNo,
        outRefundNo: `${outTradeNo}-R`,
        totalFee: 900,
        refundFee: 900,
      };
      sim.controls.setFaults({ refundAcceptedSystemErrorNext: 1 });
      const error = await failure(shop.gateway.refund(request));
      expect(error).toMatchObject({ errCode: 'SYSTEMERROR', retryable: true });
      const retried = await shop.gateway.refund(request);
      expect(sim.controls.refunds(outTradeNo).map((r) => r.refundId)).toEqual([retried.refundId]);
    });

    it('reads CHANGE and REFUNDCLOSE from refundquery and from the refund notification', async () => {
      const { outTradeNo } = await paidOrder(shop, TEST_MERCHANT, 1000);
      sim.controls.setFaults({ refundOutcomes: ['CHANGE', 'REFUNDCLOSE'] });
      for (const [suffix, fee] of [
        ['C', 100],
        ['X', 200],
      ] as const) {
        await shop.gateway.refund({
          outTradeNo,
          outRefundNo: `${outTradeNo}-${suffix}`,
          totalFee: 1000,
          refundFee: fee,
          notifyUrl: refundNotifyUrl(shop),
        });
      }
      const events = await waitFor(() => {
        const mine = shop.listener.refunds.filter((e) => e.outTradeNo === outTradeNo);
        return mine.length === 2 ? mine : undefined;
      }, 5000);
      expect(events.map((e) => [e.outRefundNo, e.refundStatus, e.successTime]).sort()).toEqual([
        [`${outTradeNo}-C`, 'CHANGE', undefined],
        [`${outTradeNo}-X`, 'REFUNDCLOSE', undefined],
      ]);
      const listed = found(await shop.gateway.refundQuery({ outTradeNo }));
      expect(listed.refunds.map((r) => [r.outRefundNo, r.status, r.successAt])).toEqual([
        [`${outTradeNo}-C`, 'CHANGE', undefined],
        [`${outTradeNo}-X`, 'REFUNDCLOSE', undefined],
      ]);
    });

    it('gets a dropped refund notification on the retry, and reads PROCESSING before it ends', async () => {
      const { outTradeNo } = await paidOrder(shop, TEST_MERCHANT, 700);
      const outRefundNo = `${outTradeNo}-R`;
      sim.controls.setFaults({ refundOutcomes: ['PROCESSING'], dropRefundNotifications: 1 });
      await shop.gateway.refund({
        outTradeNo,
        outRefundNo,
        totalFee: 700,
        refundFee: 700,
        notifyUrl: refundNotifyUrl(shop),
      });
      const processing = found(await shop.gateway.refundQuery({ outRefundNo }));
      expect(processing.refunds).toEqual([
        expect.objectContaining({ outRefundNo, status: 'PROCESSING' }),
      ]);
      expect(processing.refunds[0].successTime).toBeUndefined();

      sim.controls.finishRefund(outRefundNo);
      const sends = await sim.controls.waitForRefundNotifications((all) =>
        all.some((a) => a.outRefundNo === outRefundNo && a.outcome === 'delivered'),
      );
      expect(sends.filter((a) => a.outRefundNo === outRefundNo).map((a) => a.outcome)).toEqual([
        'dropped',
        'delivered',
      ]);
      expect(shop.listener.refunds.filter((e) => e.outRefundNo === outRefundNo)).toEqual([
        expect.objectContaining({ refundStatus: 'SUCCESS', refundFee: 700 }),
      ]);
    });

    it('pages an order of 12 refunds with offset, the _$n fields as a list in order', async () => {
      const { outTradeNo, transactionId } = await paidOrder(shop, TEST_MERCHANT, 1200);
      const numbers: string[] = [];
      for (let i = 0; i < 12; i += 1) {
        const outRefundNo = `${outTradeNo}-${String(i).padStart(2, '0')}`;
        numbers.push(outRefundNo);
        await shop.gateway.refund({ outTradeNo, outRefundNo, totalFee: 1200, refundFee: 100 });
      }
      const first = found(await shop.gateway.refundQuery({ outTradeNo, offset: 0 }));
      expect(first).toMatchObject({ refundCount: 10, totalRefundCount: 12 });
      expect(first.refunds.map((r) => r.outRefundNo)).toEqual(numbers.slice(0, 10));
      const second = found(await shop.gateway.refundQuery({ transactionId, offset: 10 }));
      expect(second).toMatchObject({ refundCount: 2, totalRefundCount: 12 });
      expect(second.refunds.map((r) => r.outRefundNo)).toEqual(numbers.slice(10));
      const beyond = await shop.gateway.refundQuery({ outTradeNo, offset: 12 });
      expect(beyond).toMatchObject({ found: false, errCode: 'REFUNDNOTEXIST' });
      const all = found(await shop.gateway.refundQuery({ outTradeNo }));
      expect(all.totalRefundCount).toBeUndefined();
      expect(all.refunds.map((r) => r.outRefundNo)).toEqual(numbers);
      expect(all.refunds.map((r) => r.refundId)).toEqual(
        sim.controls.refunds(outTradeNo).map((r) => r.refundId),
      );
    });

    it('returns REFUNDNOTEXIST typed for an unknown refund number and refund id', async () => {
      for (const reference of [{ outRefundNo: 'NO-SUCH-REFUND' }, { refundId: '5'.repeat(29) }]) {
        expect(await shop.gateway.refundQuery(reference)).toEqual({
          found: false,
          errCode: 'REFUNDNOTEXIST',
          errCodeDes: expect.any(String),
        });
      }
    });
  });

  describe('certificates', () => {
    it('presents the certificate on every request of a reused keep-alive socket', async () => {
      const relay = new CountingRelay();
      const port = await relay.start(sim.tlsPort);
      try {
        const shop = await shopFor(TEST_MERCHANT, 'MD5', {
          secapiBaseUrl: `https://127.0.0.1:${port}`,
          maxSockets: 1,
        });
        const { outTradeNo } = await paidOrder(shop, TEST_MERCHANT, 600);
        const before = relay.connections;
        for (const [i, fee] of [100, 200, 300].entries()) {
          const result = await shop.gateway.refund({
            outTradeNo,
            outRefundNo: `${outTradeNo}-K${i}`,
            totalFee: 600,
            refundFee: fee,
          });
          expect(result.refundFee).toBe(fee);
        }
        // The simulator checks the certificate of the connection on each /secapi request.
        expect(relay.connections - before).toBe(1);
        expect(sim.controls.refunds(outTradeNo)).toHaveLength(3);
      } finally {
        await relay.stop();
      }
    });

    it.each([
      [
        'the PEM pair the simulator wrote',
        (s: RunningSimulator) => ({
          certP12: undefined,
          certPem: s.certificate.certPem,
          keyPem: s.certificate.keyPem,
        }),
      ],
      [
        'the legacy RC2/3DES p12 the simulator wrote',
        (s: RunningSimulator) => ({ certP12: s.certificate.legacyP12 }),
      ],
      [
        'the other calls over plain HTTP and secapiBaseUrl on the TLS listener',
        (s: RunningSimulator) => ({ baseUrl: s.baseUrl, secapiBaseUrl: s.tlsBaseUrl }),
      ],
    ])('refunds with %s', async (_label, options) => {
      const shop = await shopFor(TEST_MERCHANT, 'MD5', options(sim));
      const { outTradeNo } = await paidOrder(shop, TEST_MERCHANT, 300);
      const result = await shop.gateway.refund({
        outTradeNo,
        outRefundNo: `${outTradeNo}-R`,
        totalFee: 300,
        refundFee: 300,
      });
      expect(result.refundId).toBe(sim.controls.refund(`${outTradeNo}-R`)?.refundId);
    });

    it("is answered CERT_ERROR, not retryable, with another merchant's certificate", async () => {
      const other = sim.certificates.find((c) => c.mchId === HMAC_MERCHANT.mchId);
      const shop = await shopFor(TEST_MERCHANT, 'MD5', {
        certP12: other?.p12,
        certPassphrase: other?.passphrase,
      });
      const { outTradeNo } = await paidOrder(shop, TEST_MERCHANT, 300);
      const error = await failure(
        shop.gateway.refund({
          outTradeNo,
          outRefundNo: `${outTradeNo}-R`,
          totalFee: 300,
          refundFee: 300,
        }),
      );
      expect(error).toMatchObject({ errCode: 'CERT_ERROR', retryable: false });
      expect(sim.controls.refunds(outTradeNo)).toEqual([]);
    });
  });
});

describe('the library against a simulator with a minimum gap between partial refunds', () => {
  it('reports FREQUENCY_LIMITED as retryable, and the same refund goes through once the gap has passed', async () => {
    const sim = await startSimulator({ merchants: [TEST_MERCHANT], refundMinIntervalMs: 60_000 });
    const shop = await startShop(TEST_MERCHANT, 'MD5', {
      baseUrl: sim.tlsBaseUrl,
      caCert: sim.caPem,
      certP12: sim.certificate.p12,
    });
    try {
      const outTradeNo = newOrderNo('GAP');
      const { payParams } = await shop.gateway.createJsapiPayment({
        outTradeNo,
        body: '分次退款',
        totalFee: 1000,
        openid: PAYER,
        spbillCreateIp: '127.0.0.1',
      });
      sim.controls.requestPayment({ ...payParams, openid: PAYER, appid: TEST_MERCHANT.appId });
      const refund = (suffix: string) =>
        shop.gateway.refund({
          outTradeNo,
          outRefundNo: `${outTradeNo}-${suffix}`,
          totalFee: 1000,
          refundFee: 100,
        });
      await refund('A');
      const tooSoon = await failure(refund('B'));
      expect(tooSoon).toMatchObject({ errCode: 'FREQUENCY_LIMITED', retryable: true });
      expect(sim.controls.refunds(outTradeNo)).toHaveLength(1);
      sim.controls.advanceClock(60_000);
      await refund('B');
      expect(sim.controls.refunds(outTradeNo).map((r) => r.outRefundNo)).toEqual([
        `${outTradeNo}-A`,
        `${outTradeNo}-B`,
      ]);
    } finally {
      await shop.app.close();
      await sim.stop();
    }
  });
});

describe('the library against the simulator: bills', () => {
  let sim: RunningSimulator;
  let shop: Shop;
  let day: string;
  let nextDay: string;
  let emptyDay: string;
  const paid: Record<string, { totalFee: number; body: string; attach: string }> = {};

  const dateAfter = (ms: number, days: number) =>
    new Date(ms + 8 * 3_600_000 + days * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');

  beforeAll(async () => {
    sim = await startSimulator({ merchants: [TEST_MERCHANT], timeScale: 0.001 });
    shop = await startShop(TEST_MERCHANT, 'MD5', {
      baseUrl: sim.tlsBaseUrl,
      caCert: sim.caPem,
      certP12: sim.certificate.p12,
    });
    const now = sim.controls.now().getTime();
    day = dateAfter(now, 1);
    nextDay = dateAfter(now, 2);
    emptyDay = dateAfter(now, 3);
    sim.controls.advanceClockTo(`${day}100000`);

    const orders = [
      { totalFee: 1, body: '一分钱,测试', attach: '' },
      { totalFee: 600, body: '咖啡,大杯,加糖', attach: 'table=3,seat=2' },
      { totalFee: 9_999_999_999, body: 'Big order', attach: 'x' },
      { totalFee: 250, body: '茶', attach: '' },
    ];
    for (const order of orders) {
      const outTradeNo = newOrderNo('BILL');
      const { payParams } = await shop.gateway.createJsapiPayment({
        outTradeNo,
        body: order.body,
        totalFee: order.totalFee,
        ...(order.attach ? { attach: order.attach } : {}),
        openid: PAYER,
        spbillCreateIp: '127.0.0.1',
      });
      expect(
        sim.controls.requestPayment({ ...payParams, openid: PAYER, appid: TEST_MERCHANT.appId }),
      ).toEqual({ errMsg: 'requestPayment:ok' });
      paid[outTradeNo] = order;
    }
    const [, coffee, , tea] = Object.keys(paid);
    await shop.gateway.refund({
      outTradeNo: coffee,
      outRefundNo: `${coffee}-R1`,
      totalFee: 600,
      refundFee: 100,
    });
    await shop.gateway.refund({
      outTradeNo: tea,
      outRefundNo: `${tea}-R1`,
      totalFee: 250,
      refundFee: 250,
    });
    await waitFor(
      () => sim.controls.refunds().every((r) => r.status === 'SUCCESS') || undefined,
      5000,
    );
  });

  afterAll(async () => {
    await shop.app.close();
    await sim.stop();
  });

  it('is told Bill Creating, retryable, before 09:00 the next day', async () => {
    sim.controls.advanceClockTo(`${nextDay}085959`);
    const error = await failure(shop.gateway.downloadBill({ billDate: day }));
    expect(error).toBeInstanceOf(WechatPayReturnError);
    expect(error).toMatchObject({ returnMsg: 'Bill Creating', retryable: true });
  });

  it("parses the ALL bill, plain and gzip, and its totals agree with the simulator's own orders and refunds", async () => {
    sim.controls.advanceClockTo(`${nextDay}100000`);
    const plain = await shop.gateway.downloadBill({ billDate: day, billType: 'ALL' });
    const gzip = await shop.gateway.downloadBill({
      billDate: day,
      billType: 'ALL',
      tarType: 'GZIP',
    });
    if (!plain.found || !gzip.found) throw new Error('expected a bill');
    expect(gzip.rows).toEqual(plain.rows);
    expect(gzip.summary).toEqual(plain.summary);

    const orders = sim.controls.orders().filter((o) => o.outTradeNo in paid);
    const refunds = sim.controls.refunds();
    const payments = plain.rows.filter((r) => r.tradeState === 'SUCCESS');
    const refundRows = plain.rows.filter((r) => r.tradeState === 'REFUND');
    expect(payments.map((r) => [r.outTradeNo, r.totalFee, r.body, r.attach]).sort()).toEqual(
      Object.entries(paid)
        .map(([no, o]) => [no, o.totalFee, o.body, o.attach])
        .sort(),
    );
    expect(payments.map((r) => [r.outTradeNo, r.transactionId]).sort()).toEqual(
      orders.map((o) => [o.outTradeNo, o.transactionId]).sort(),
    );
    expect(refundRows.map((r) => [r.outRefundNo, r.refundId, r.refundFee]).sort()).toEqual(
      refunds.map((r) => [r.outRefundNo, r.refundId, r.refundFee]).sort(),
    );
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    expect(plain.summary).toMatchObject({
      totalCount: 6,
      settlementTotalFee: sum(Object.values(paid).map((o) => o.totalFee)),
      totalFee: sum(Object.values(paid).map((o) => o.totalFee)),
      refundFee: sum(refunds.map((r) => r.refundFee)),
      refundApplyFee: sum(refunds.map((r) => r.refundFee)),
      feeMilliFen: sum(plain.rows.map((r) => r.feeMilliFen)),
    });
    const [billDay] = sim.controls.bills().filter((d) => d.date === day);
    expect(billDay).toMatchObject({
      rows: plain.rows.length,
      paidFee: plain.summary.settlementTotalFee,
      refundedFee: plain.summary.refundFee,
      serviceFee: (plain.summary.feeMilliFen as number) / 1000,
    });
    expect(payments.find((r) => r.totalFee === 9_999_999_999)?.settlementTotalFee).toBe(
      9_999_999_999,
    );
    expect(payments.find((r) => r.totalFee === 1)?.settlementTotalFee).toBe(1);
  });

  it('parses the SUCCESS, REFUND and RECHARGE_REFUND bills of the day, each in its own layout', async () => {
    const success = await shop.gateway.downloadBill({ billDate: day, billType: 'SUCCESS' });
    const refund = await shop.gateway.downloadBill({ billDate: day, billType: 'REFUND' });
    const recharge = await shop.gateway.downloadBill({
      billDate: day,
      billType: 'RECHARGE_REFUND',
    });
    if (!success.found || !refund.found || !recharge.found) throw new Error('expected bills');
    expect(success.rows.map((r) => r.outTradeNo).sort()).toEqual(Object.keys(paid).sort());
    expect(success.columns).not.toContain('微信退款单号');
    expect(success.rows.every((r) => r.refundId === undefined)).toBe(true);

    const views = sim.controls.refunds();
    expect(refund.rows.map((r) => [r.outRefundNo, r.refundFee, r.refundStatus]).sort()).toEqual(
      views.map((v) => [v.outRefundNo, v.refundFee, 'SUCCESS']).sort(),
    );
    for (const row of refund.rows) {
      const view = views.find((v) => v.outRefundNo === row.outRefundNo);
      expect(row.refundApplyTime?.getTime()).toBe(
        Math.floor(Date.parse(view?.createdAt ?? '') / 1000) * 1000,
      );
      expect(row.refundSuccessTime?.getTime()).toBe(
        Math.floor(Date.parse(view?.endedAt ?? '') / 1000) * 1000,
      );
    }
    // No coupon refunds that day: the bill is there, with no rows.
    expect(recharge.rows).toEqual([]);
    expect(recharge.summary.totalCount).toBe(0);
  });

  it('streams the same rows as downloadBill, row by row', async () => {
    const whole = await shop.gateway.downloadBill({ billDate: day });
    const stream = await shop.gateway.downloadBillStream({ billDate: day, tarType: 'GZIP' });
    if (!whole.found || !stream.found) throw new Error('expected a bill');
    const rows = [];
    for await (const row of stream.rows) rows.push(row);
    expect(rows).toEqual(whole.rows);
    expect(stream.rows.summary).toEqual(whole.summary);
  });

  it("runs the README's billTotals: per-order totals that agree with the simulator's orders and refunds", async () => {
    const totals = await billTotals(shop.gateway, day);
    if (totals === undefined) throw new Error('expected a bill');
    const refunds = sim.controls.refunds();
    expect(Object.fromEntries(totals.orders)).toEqual(
      Object.fromEntries(
        Object.entries(paid).map(([no, order]) => [
          no,
          {
            paidFen: order.totalFee,
            refundedFen: refunds
              .filter((r) => r.outTradeNo === no)
              .reduce((sum, r) => sum + r.refundFee, 0),
          },
        ]),
      ),
    );
    expect(totals.summary?.totalCount).toBe(6);
    expect(await billTotals(shop.gateway, nextDay).catch((e: unknown) => e)).toMatchObject({
      returnMsg: 'Bill Creating',
      retryable: true,
    });
  });

  it('shows in the library README exactly the example code these tests run', async () => {
    const readme = await readFile(join(__dirname, '../libs/wechat-pay/README.md'), 'utf8');
    const shown = /<!-- test\/wechat-pay-readme-example\.ts -->\n+```ts\n([\s\S]*?)```/.exec(
      readme,
    );
    expect(shown?.[1]).toBe(
      await readFile(join(__dirname, 'wechat-pay-readme-example.ts'), 'utf8'),
    );
  });

  it('is told there is no bill, with error_code 20002, for a day without trades', async () => {
    sim.controls.advanceClockTo(
      `${dateAfter(Date.parse(`${emptyDay.slice(0, 4)}-${emptyDay.slice(4, 6)}-${emptyDay.slice(6)}T00:00:00+08:00`), 1)}100000`,
    );
    expect(await shop.gateway.downloadBill({ billDate: emptyDay })).toEqual({
      found: false,
      billDate: emptyDay,
      billType: 'ALL',
      returnMsg: 'No Bill Exist',
      errorCode: '20002',
    });
  });

  it('is refused, not retryable, a date the simulator holds no bill for yet (the future)', async () => {
    const error = await failure(shop.gateway.downloadBill({ billDate: '20991231' }));
    expect(error).toBeInstanceOf(WechatPayReturnError);
    expect(error.retryable).toBe(false);
  });
});

describe('the library against the simulator: refunds of coupon payments, in refundquery and the bills', () => {
  let sim: RunningSimulator;
  let shop: Shop;
  let day: string;

  beforeAll(async () => {
    sim = await startSimulator({
      merchants: [TEST_MERCHANT],
      timeScale: 0.001,
      billCreating: false,
    });
    shop = await startShop(TEST_MERCHANT, 'MD5', {
      baseUrl: sim.tlsBaseUrl,
      caCert: sim.caPem,
      certP12: sim.certificate.p12,
    });
    // Ten in the morning of a day to come, so every trade of this block falls on that day.
    const start = new Date(sim.controls.now().getTime() + 8 * 3_600_000 + 86_400_000);
    day = start.toISOString().slice(0, 10).replace(/-/g, '');
    sim.controls.advanceClockTo(`${day}100000`);
  });

  afterAll(async () => {
    await shop.app.close();
    await sim.stop();
  });

  async function paidWithCoupon(type: 'CASH' | 'NO_CASH', fee: number): Promise<string> {
    const outTradeNo = newOrderNo('CPN');
    const { payParams } = await shop.gateway.createJsapiPayment({
      outTradeNo,
      body: '券支付',
      totalFee: 1000,
      openid: PAYER,
      spbillCreateIp: '127.0.0.1',
    });
    expect(
      sim.controls.requestPayment({
        ...payParams,
        openid: PAYER,
        appid: TEST_MERCHANT.appId,
        coupon: { fee, type },
      }),
    ).toEqual({ errMsg: 'requestPayment:ok' });
    return outTradeNo;
  }

  it('reads the coupon share of each refund, and the bills put them in the right columns and bill types', async () => {
    const cash = await paidWithCoupon('CASH', 300);
    const noCash = await paidWithCoupon('NO_CASH', 200);
    const cashRefund = await shop.gateway.refund({
      outTradeNo: cash,
      outRefundNo: `${cash}-R`,
      totalFee: 1000,
      refundFee: 500,
    });
    expect(cashRefund).toMatchObject({ refundFee: 500, cashFee: 700, couponRefundFee: 150 });
    expect(cashRefund.coupons).toEqual([
      { type: 'CASH', refundId: expect.any(String), refundFee: 150 },
    ]);
    const noCashRefund = await shop.gateway.refund({
      outTradeNo: noCash,
      outRefundNo: `${noCash}-R`,
      totalFee: 1000,
      refundFee: 1000,
    });
    expect(noCashRefund).toMatchObject({
      settlementTotalFee: 800,
      settlementRefundFee: 800,
      couponRefundFee: 200,
    });
    await waitFor(
      () => sim.controls.refunds().every((r) => r.status === 'SUCCESS') || undefined,
      5000,
    );

    const queried = found(await shop.gateway.refundQuery({ outTradeNo: cash }));
    expect(queried.refunds).toEqual([
      expect.objectContaining({
        outRefundNo: `${cash}-R`,
        refundFee: 500,
        couponRefundFee: 150,
        coupons: [{ type: 'CASH', refundId: cashRefund.coupons[0].refundId, refundFee: 150 }],
      }),
    ]);

    const all = await shop.gateway.downloadBill({ billDate: day });
    const recharge = await shop.gateway.downloadBill({
      billDate: day,
      billType: 'RECHARGE_REFUND',
    });
    if (!all.found || !recharge.found) throw new Error('expected bills');
    const row = (no: string, state: string) =>
      all.rows.find((r) => r.outTradeNo === no && r.tradeState === state);
    expect(row(cash, 'SUCCESS')).toMatchObject({
      settlementTotalFee: 1000,
      couponFee: 300,
      totalFee: 1000,
    });
    expect(row(noCash, 'SUCCESS')).toMatchObject({
      settlementTotalFee: 800,
      couponFee: 200,
      totalFee: 1000,
    });
    expect(row(cash, 'REFUND')).toMatchObject({
      refundFee: 500,
      rechargeCouponRefundFee: 150,
      refundApplyFee: 500,
    });
    expect(row(noCash, 'REFUND')).toMatchObject({
      refundFee: 800,
      rechargeCouponRefundFee: 0,
      refundApplyFee: 1000,
    });
    expect(all.summary).toMatchObject({
      totalCount: 4,
      settlementTotalFee: 1800,
      refundFee: 1300,
      rechargeCouponRefundFee: 150,
      totalFee: 2000,
      refundApplyFee: 1500,
    });
    // Only the refund of the pre-funded (CASH) coupon is a top-up coupon refund.
    expect(recharge.rows.map((r) => [r.outRefundNo, r.rechargeCouponRefundFee])).toEqual([
      [`${cash}-R`, 150],
    ]);
  });
});
