import {
  Controller,
  Header,
  HttpCode,
  Injectable,
  Module,
  Post,
  Req,
  type DynamicModule,
  type INestApplication,
} from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { raw as expressRaw } from 'express';
import request from 'supertest';
import {
  notifyReply,
  WechatPayModule,
  WechatPayNotifyHandler,
  WechatPayNotifyService,
  WechatPayRefundHandler,
  type PaymentNotification,
  type RefundNotification,
  type WechatPayModuleOptions,
  type WechatPayNotificationEvent,
} from 'nestjs-wechat-pay-v2';
import {
  buildPaymentNotification,
  buildRefundNotification,
  parseNotifyReply,
  type RefundNotificationOptions,
} from 'nestjs-wechat-pay-v2/testing';

const OPTIONS: WechatPayModuleOptions = {
  appId: 'wxe2e0000000000001',
  mchId: '1900000109',
  apiKey: 'e2e0123456789abcdefghijklmnopqrs',
  signType: 'MD5',
};
const OTHER_KEY = 'ffffffffffffffffffffffffffffffff';
const REFUND_PATH = '/wechat-pay/refund-notify';
const ONE_MIB = 1024 * 1024;

/** What the host's refund handler was handed, or a failure like a broken database's. */
@Injectable()
class RefundsListener {
  readonly events: RefundNotification[] = [];
  failure: Error | undefined;

  @WechatPayRefundHandler()
  async onRefund(event: RefundNotification): Promise<void> {
    await Promise.resolve();
    if (this.failure) throw this.failure;
    this.events.push(event);
  }
}

@Injectable()
class PaymentsListener {
  readonly events: PaymentNotification[] = [];

  @WechatPayNotifyHandler()
  onPaid(event: PaymentNotification): void {
    this.events.push(event);
  }
}

/** A host that serves refund notifications from its own route, in two steps. */
@Controller('payments')
class HostRefundController {
  constructor(private readonly notify: WechatPayNotifyService) {}

  @Post('wechat-refund')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml; charset=utf-8')
  async receive(@Req() req: { rawBody?: Buffer }): Promise<string> {
    try {
      const event = await this.notify.verifyRefund(req.rawBody ?? '');
      await this.notify.dispatchRefund(event);
      return notifyReply();
    } catch (error) {
      return notifyReply(error);
    }
  }
}

type AdapterName = 'express' | 'fastify';

const outcomes: WechatPayNotificationEvent[] = [];
const hooks = { onNotification: (event: WechatPayNotificationEvent) => outcomes.push(event) };

interface Host {
  app: INestApplication;
  refunds: RefundsListener;
  payments: PaymentsListener;
}

async function startHost(
  adapter: AdapterName,
  wechatPay: DynamicModule,
  options: {
    listeners?: boolean;
    controllers?: Array<new (...args: never[]) => unknown>;
    rawParser?: boolean;
    rawBody?: boolean;
  } = {},
): Promise<Host> {
  const listeners =
    options.listeners === false ? [PaymentsListener] : [RefundsListener, PaymentsListener];
  @Module({ imports: [wechatPay], providers: listeners, controllers: options.controllers ?? [] })
  class HostModule {}
  const moduleRef = await Test.createTestingModule({ imports: [HostModule] }).compile();
  const app =
    adapter === 'express'
      ? moduleRef.createNestApplication<NestExpressApplication>({
          rawBody: options.rawBody ?? false,
          logger: false,
        })
      : moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), {
          rawBody: options.rawBody ?? false,
          logger: false,
        });
  if (options.rawParser) {
    if (adapter === 'express') {
      app.use(expressRaw({ type: () => true, limit: '4kb' }));
    } else {
      (app as NestFastifyApplication)
        .getHttpAdapter()
        .getInstance()
        .addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 4096 }, (_req, body, done) =>
          done(null, body),
        );
    }
  }
  if (options.controllers !== undefined) {
    if (adapter === 'express') {
      (app as NestExpressApplication).useBodyParser('text', { type: 'text/xml' });
    } else {
      (app as NestFastifyApplication).useBodyParser('text/xml');
    }
  }
  await app.listen(0, '127.0.0.1');
  return {
    app,
    refunds: options.listeners === false ? new RefundsListener() : app.get(RefundsListener),
    payments: app.get(PaymentsListener),
  };
}

function refund(overrides: Partial<RefundNotificationOptions> = {}) {
  return buildRefundNotification({ ...OPTIONS, ...overrides });
}

function post(host: Host, body: string, contentType = 'text/xml', path = REFUND_PATH) {
  return request(host.app.getHttpServer()).post(path).set('Content-Type', contentType).send(body);
}

async function expectReply(
  res: { status: number; headers: Record<string, string>; text: string },
  returnCode: 'SUCCESS' | 'FAIL',
  returnMsg?: string,
): Promise<void> {
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/xml/);
  const reply = await parseNotifyReply(res.text);
  expect(reply.returnCode).toBe(returnCode);
  if (returnMsg !== undefined) expect(reply.returnMsg).toBe(returnMsg);
}

const hostile: Array<[string, () => { body: string; type?: string }, string]> = [
  [
    'req_info is encrypted with another key (a forgery)',
    () => ({ body: refund({ encryptWithKey: OTHER_KEY }).xml }),
    'req_info does not decrypt',
  ],
  [
    'it is for another mch_id',
    () => ({ body: refund({ mchId: '1900000110' }).xml }),
    'mch_id mismatch',
  ],
  [
    'it is for another appid',
    () => ({ body: refund({ appId: 'wxe2e0000000000002' }).xml }),
    'appid mismatch',
  ],
  [
    'req_info is garbage',
    () => ({ body: refund({ fields: { req_info: 'not-base64!!' } }).xml }),
    'req_info does not decrypt',
  ],
  [
    'req_info is base64 of random blocks',
    () => ({ body: refund({ fields: { req_info: Buffer.alloc(48, 7).toString('base64') } }).xml }),
    'req_info does not decrypt',
  ],
  [
    'req_info is missing',
    () => ({ body: refund({ fields: { req_info: null } }).xml }),
    'missing field',
  ],
  [
    'return_code is FAIL',
    () => ({ body: refund({ fields: { return_code: 'FAIL' } }).xml }),
    'return_code is not SUCCESS',
  ],
  [
    'the decrypted refund_status is unknown',
    () => ({ body: refund({ reqInfoFields: { refund_status: 'PAID' } }).xml }),
    'invalid field',
  ],
  [
    'the decrypted refund_fee is not integer fen',
    () => ({ body: refund({ reqInfoFields: { refund_fee: '1.00' } }).xml }),
    'invalid field',
  ],
  [
    'a SUCCESS refund has no success_time',
    () => ({ body: refund({ reqInfoFields: { success_time: null } }).xml }),
    'missing field',
  ],
  [
    'it declares an external entity (XXE)',
    () => ({
      body:
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>' +
        '<xml><return_code>SUCCESS</return_code><req_info>&x;</req_info></xml>',
    }),
    'invalid XML',
  ],
  [
    'the body is 1 MiB',
    () => ({ body: refund({ fields: { pad: 'x'.repeat(ONE_MIB) } }).xml }),
    'body too large',
  ],
  [
    'the body is JSON',
    () => ({ body: '{"req_info":"x"}', type: 'application/json' }),
    'invalid XML',
  ],
  [
    'it is a signed payment notification',
    () => ({ body: buildPaymentNotification(OPTIONS).xml }),
    'missing field',
  ],
];

describe.each<AdapterName>(['express', 'fastify'])('the refund notify route on %s', (adapter) => {
  describe.each([
    ["Nest's default body parsers", false],
    ['a raw parser for every type with a 4 KiB limit', true],
  ])('in a host app with %s', (_name, rawParser) => {
    let host: Host;

    beforeEach(async () => {
      outcomes.length = 0;
      host = await startHost(adapter, WechatPayModule.forRoot({ ...OPTIONS, hooks }), {
        rawParser,
      });
    });

    afterEach(() => host.app.close());

    it('decrypts req_info and hands the handler the typed event once, answering SUCCESS/OK', async () => {
      const built = refund({
        outRefundNo: 'R-E2E-0001',
        refundId: '50000203702017072601461713166',
        outTradeNo: 'E2E-ORDER-0001',
        transactionId: '4200000288201903177135850941',
        totalFee: 12345,
        refundFee: 2345,
        successTime: '2024-03-01 12:00:05',
      });
      await expectReply(await post(host, built.xml), 'SUCCESS', 'OK');
      expect(host.refunds.events).toHaveLength(1);
      expect(host.refunds.events[0]).toMatchObject({
        appId: OPTIONS.appId,
        mchId: OPTIONS.mchId,
        refundStatus: 'SUCCESS',
        outRefundNo: 'R-E2E-0001',
        refundId: '50000203702017072601461713166',
        outTradeNo: 'E2E-ORDER-0001',
        transactionId: '4200000288201903177135850941',
        totalFee: 12345,
        refundFee: 2345,
        settlementRefundFee: 2345,
        successTime: '2024-03-01 12:00:05',
        successAt: new Date('2024-03-01T04:00:05.000Z'),
        refundRecvAccount: '支付用户零钱',
        refundAccount: 'REFUND_SOURCE_RECHARGE_FUNDS',
        refundRequestSource: 'API',
      });
      expect(host.refunds.events[0].envelope.req_info).toBe(built.fields.req_info);
      expect(host.payments.events).toHaveLength(0);
      expect(outcomes).toEqual([{ kind: 'refund', outcome: 'HANDLED' }]);
    });

    it('takes the envelope with or without return_msg, an optional field', async () => {
      const withMsg = refund({ outRefundNo: 'R-WITH-MSG', fields: { return_msg: 'OK' } });
      expect(withMsg.xml).toContain('<return_msg>');
      await expectReply(await post(host, withMsg.xml), 'SUCCESS', 'OK');
      const without = refund({ outRefundNo: 'R-NO-MSG' });
      expect(without.xml).not.toContain('<return_msg>');
      await expectReply(await post(host, without.xml), 'SUCCESS', 'OK');
      expect(host.refunds.events.map((e) => e.outRefundNo)).toEqual(['R-WITH-MSG', 'R-NO-MSG']);
    });

    it('hands CHANGE and REFUNDCLOSE notifications to the handler too', async () => {
      await expectReply(await post(host, refund({ refundStatus: 'CHANGE' }).xml), 'SUCCESS');
      await expectReply(await post(host, refund({ refundStatus: 'REFUNDCLOSE' }).xml), 'SUCCESS');
      expect(host.refunds.events.map((e) => [e.refundStatus, e.successAt])).toEqual([
        ['CHANGE', undefined],
        ['REFUNDCLOSE', undefined],
      ]);
    });

    it.each(hostile)(
      'answers 200 FAIL without calling the handler when %s, and stays healthy',
      async (_case, make, reason) => {
        const { body, type } = make();
        await expectReply(await post(host, body, type), 'FAIL', reason);
        expect(host.refunds.events).toHaveLength(0);
        expect(outcomes.map((o) => o.kind)).toEqual(['refund']);

        await expectReply(await post(host, refund().xml), 'SUCCESS');
        expect(host.refunds.events).toHaveLength(1);
      },
    );

    it('answers FAIL while the handler throws and SUCCESS on the retry once it works', async () => {
      host.refunds.failure = new Error('refund store unavailable at db://admin:pw@10.0.0.5');
      const { xml } = refund();
      const failed = await post(host, xml);
      await expectReply(failed, 'FAIL', 'handler failed');
      expect(failed.text).not.toContain('refund store');
      host.refunds.failure = undefined;
      await expectReply(await post(host, xml), 'SUCCESS');
      expect(host.refunds.events).toHaveLength(1);
      expect(outcomes).toEqual([
        { kind: 'refund', outcome: 'HANDLER_FAILED' },
        { kind: 'refund', outcome: 'HANDLED' },
      ]);
    });

    it('answers each of 30 concurrent notifications, forged and genuine mixed, as it would alone', async () => {
      const bodies = Array.from({ length: 30 }, (_, i) =>
        i % 3 === 0
          ? { xml: refund({ encryptWithKey: OTHER_KEY }).xml, expect: 'FAIL' as const }
          : { xml: refund({ outRefundNo: `R-CONC-${i}` }).xml, expect: 'SUCCESS' as const },
      );
      const replies = await Promise.all(bodies.map((b) => post(host, b.xml)));
      for (const [i, res] of replies.entries()) await expectReply(res, bodies[i].expect);
      expect(host.refunds.events.map((e) => e.outRefundNo).sort()).toEqual(
        bodies
          .map((b, i) => (b.expect === 'SUCCESS' ? `R-CONC-${i}` : undefined))
          .filter((no) => no !== undefined)
          .sort(),
      );
    });

    it('leaves the payment route as it was: a refund notification there is refused', async () => {
      await expectReply(
        await post(host, refund().xml, 'text/xml', '/wechat-pay/notify'),
        'FAIL',
        'missing sign',
      );
      await expectReply(
        await post(host, buildPaymentNotification(OPTIONS).xml, 'text/xml', '/wechat-pay/notify'),
        'SUCCESS',
      );
      expect(host.payments.events).toHaveLength(1);
      expect(host.refunds.events).toHaveLength(0);
    });
  });

  describe('in a host without a refund handler', () => {
    let host: Host;
    beforeEach(async () => {
      host = await startHost(adapter, WechatPayModule.forRoot(OPTIONS), { listeners: false });
    });
    afterEach(() => host.app.close());

    it('answers FAIL no handler, so WeChat re-sends the notification later', async () => {
      await expectReply(await post(host, refund().xml), 'FAIL', 'no handler');
    });
  });

  describe('with refundNotifyPath and refundNotifyController set', () => {
    let hosts: Host[] = [];
    afterEach(async () => {
      await Promise.all(hosts.map((h) => h.app.close()));
      hosts = [];
    });

    it('mounts the refund route at refundNotifyPath', async () => {
      const host = await startHost(
        adapter,
        WechatPayModule.forRoot({ ...OPTIONS, refundNotifyPath: 'hooks/wx-refund' }),
      );
      hosts.push(host);
      await expectReply(await post(host, refund().xml, 'text/xml', '/hooks/wx-refund'), 'SUCCESS');
      expect((await post(host, refund().xml)).status).toBe(404);
      expect(host.refunds.events).toHaveLength(1);
    });

    it('mounts no refund route with refundNotifyController: false, and a host route can verify and dispatch', async () => {
      const host = await startHost(
        adapter,
        WechatPayModule.forRoot({ ...OPTIONS, refundNotifyController: false }),
        { controllers: [HostRefundController], rawBody: true },
      );
      hosts.push(host);
      expect((await post(host, refund().xml)).status).toBe(404);
      await expectReply(
        await post(
          host,
          refund({ refundFee: 1, totalFee: 9 }).xml,
          'text/xml',
          '/payments/wechat-refund',
        ),
        'SUCCESS',
      );
      await expectReply(
        await post(
          host,
          refund({ encryptWithKey: OTHER_KEY }).xml,
          'text/xml',
          '/payments/wechat-refund',
        ),
        'FAIL',
        'req_info does not decrypt',
      );
      expect(host.refunds.events.map((e) => [e.refundFee, e.totalFee])).toEqual([[1, 9]]);
      await expectReply(
        await post(host, buildPaymentNotification(OPTIONS).xml, 'text/xml', '/wechat-pay/notify'),
        'SUCCESS',
      );
    });

    it('refuses a refundNotifyPath equal to notifyPath at start-up', () => {
      expect(() =>
        WechatPayModule.forRoot({ ...OPTIONS, refundNotifyPath: '/wechat-pay/notify/' }),
      ).toThrow('refundNotifyPath (must differ from notifyPath)');
    });
  });
});
