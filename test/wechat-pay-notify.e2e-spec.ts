import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Controller,
  HttpCode,
  Injectable,
  Module,
  Post,
  Req,
  Res,
  type DynamicModule,
  type INestApplication,
  type RawBodyRequest,
} from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { Request, Response } from 'express';
import request from 'supertest';
import {
  WechatPayModule,
  WechatPayNotifyHandler,
  WechatPayNotifyService,
  type PaymentNotification,
  type WechatPayModuleOptions,
} from 'nestjs-wechat-pay-v2';
import {
  buildPaymentNotification,
  parseNotifyReply,
  type PaymentNotificationOptions,
} from 'nestjs-wechat-pay-v2/testing';

const OPTIONS: WechatPayModuleOptions = {
  appId: 'wxe2e0000000000001',
  mchId: '1900000109',
  apiKey: 'e2e0123456789abcdefghijklmnopqrs',
  signType: 'MD5',
};
const NOTIFY_PATH = '/wechat-pay/notify';

/** The host's own code: records what it was handed, or fails like a broken database would. */
@Injectable()
class PaymentsListener {
  readonly events: PaymentNotification[] = [];
  failure: Error | undefined;

  @WechatPayNotifyHandler()
  async onPaid(event: PaymentNotification): Promise<void> {
    await Promise.resolve();
    if (this.failure) throw this.failure;
    this.events.push(event);
  }
}

/** Lets a test see which form the body reaches a route in under each host setup. */
@Controller('probe')
class ProbeController {
  @Post()
  @HttpCode(200)
  probe(@Req() req: RawBodyRequest<Request>): Record<string, boolean> {
    return {
      rawBody: Buffer.isBuffer(req.rawBody),
      parsedText: typeof req.body === 'string',
      streamUnread: !req.readableDidRead,
    };
  }
}

type BodySource = 'rawBody' | 'parsedText' | 'streamUnread';

interface HostSetup {
  name: string;
  rawBody: boolean;
  xmlTextParser: boolean;
  /** Where the notify route finds XML bodies under this setup. */
  xmlBodySource: BodySource;
}

const hosts: HostSetup[] = [
  {
    name: 'default body parsers',
    rawBody: false,
    xmlTextParser: false,
    xmlBodySource: 'streamUnread',
  },
  { name: 'rawBody: true', rawBody: true, xmlTextParser: false, xmlBodySource: 'streamUnread' },
  {
    name: 'rawBody: true and an XML text parser',
    rawBody: true,
    xmlTextParser: true,
    xmlBodySource: 'rawBody',
  },
  {
    name: 'an XML text parser without rawBody',
    rawBody: false,
    xmlTextParser: true,
    xmlBodySource: 'parsedText',
  },
];

const registrations: ReadonlyArray<
  [string, (extras?: { notifyController?: boolean }) => DynamicModule]
> = [
  ['forRoot', (extras = {}) => WechatPayModule.forRoot({ ...OPTIONS, ...extras })],
  [
    'forRootAsync (useFactory)',
    (extras = {}) => WechatPayModule.forRootAsync({ useFactory: async () => OPTIONS, ...extras }),
  ],
];

async function startHost(
  wechatPay: DynamicModule,
  setup: Pick<HostSetup, 'rawBody' | 'xmlTextParser'>,
  controllers: Array<new (...args: never[]) => unknown> = [],
): Promise<NestExpressApplication> {
  @Module({
    imports: [wechatPay],
    providers: [PaymentsListener],
    controllers: [ProbeController, ...controllers],
  })
  class HostModule {}

  const moduleRef = await Test.createTestingModule({ imports: [HostModule] }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({
    rawBody: setup.rawBody,
    logger: false,
  });
  if (setup.xmlTextParser) {
    // A host that parses XML itself. The limit is raised so that oversize bodies reach the notify
    // route, whose own limit is the one under test; with the parser's default a 413 comes first.
    app.useBodyParser('text', { type: ['text/xml', 'application/xml'], limit: '2mb' });
  }
  await app.listen(0, '127.0.0.1');
  return app;
}

function notification(overrides: Partial<PaymentNotificationOptions> = {}) {
  return buildPaymentNotification({ ...OPTIONS, ...overrides });
}

function postXml(app: INestApplication, body: string, path = NOTIFY_PATH) {
  return request(app.getHttpServer()).post(path).set('Content-Type', 'text/xml').send(body);
}

async function expectReply(res: request.Response, returnCode: 'SUCCESS' | 'FAIL'): Promise<void> {
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/xml/);
  expect((await parseNotifyReply(res.text)).returnCode).toBe(returnCode);
}

/** Sends a chunked body (no Content-Length) over a plain socket and returns the reply. */
function postChunked(
  app: INestApplication,
  chunk: Buffer,
  times: number,
): Promise<{ status: number; text: string }> {
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: NOTIFY_PATH,
        method: 'POST',
        headers: { 'Content-Type': 'text/xml' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (part: string) => (text += part));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    for (let i = 0; i < times; i += 1) req.write(chunk);
    req.end();
  });
}

/** Each hostile request, and the reason the reply should give under a host setup. */
const hostileBodies: Array<
  [string, (app: INestApplication) => request.Test, (setup: HostSetup) => string]
> = [
  [
    'the signature is wrong',
    (app) => postXml(app, notification({ sign: 'F'.repeat(32) }).xml),
    () => 'invalid sign',
  ],
  [
    'it is for another appid',
    (app) => postXml(app, notification({ appId: 'wxe2e0000000000002' }).xml),
    () => 'appid mismatch',
  ],
  [
    'it is for another mch_id',
    (app) => postXml(app, notification({ mchId: '1900000110' }).xml),
    () => 'mch_id mismatch',
  ],
  [
    'the XML is malformed',
    (app) => postXml(app, '<xml><return_code>SUCCESS</return_code>'),
    () => 'invalid XML',
  ],
  [
    'it declares an external entity (XXE)',
    (app) =>
      postXml(
        app,
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>' +
          '<xml><return_code>SUCCESS</return_code><attach>&x;</attach></xml>',
      ),
    () => 'invalid XML',
  ],
  [
    'the body is 1 MiB',
    (app) => postXml(app, notification({ attach: 'x'.repeat(1024 * 1024) }).xml),
    () => 'body too large',
  ],
  ['the body is empty', (app) => postXml(app, ''), () => 'empty body'],
  [
    'the body is JSON',
    (app) =>
      request(app.getHttpServer())
        .post(NOTIFY_PATH)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(notification().fields)),
    // With rawBody the JSON bytes are kept and fail as XML; without it only a parsed object is left.
    (setup) => (setup.rawBody ? 'invalid XML' : 'unsupported body'),
  ],
];

describe.each(registrations)('WechatPayModule.%s notify route', (_registration, register) => {
  describe.each(hosts)('in a host app with $name', (setup) => {
    let app: NestExpressApplication;
    let listener: PaymentsListener;

    beforeEach(async () => {
      app = await startHost(register(), setup);
      listener = app.get(PaymentsListener);
    });

    afterEach(() => app.close());

    it(`reaches routes with XML bodies via ${setup.xmlBodySource}`, async () => {
      const res = await postXml(app, notification().xml, '/probe');
      expect(res.body).toMatchObject({ [setup.xmlBodySource]: true });
    });

    it('answers SUCCESS/OK and hands the handler the typed event once', async () => {
      const { xml } = notification({
        outTradeNo: 'E2E-ORDER-0001',
        transactionId: '4200000288201903177135850941',
        totalFee: 12345,
        cashFee: 12000,
        attach: '用户备注 & <tags>',
      });

      const res = await postXml(app, xml);

      await expectReply(res, 'SUCCESS');
      expect(await parseNotifyReply(res.text)).toEqual({ returnCode: 'SUCCESS', returnMsg: 'OK' });
      expect(listener.events).toHaveLength(1);
      const [event] = listener.events;
      expect(event).toMatchObject({
        outTradeNo: 'E2E-ORDER-0001',
        transactionId: '4200000288201903177135850941',
        totalFee: 12345,
        cashFee: 12000,
        attach: '用户备注 & <tags>',
        signType: 'MD5',
      });
      expect(typeof event.totalFee).toBe('number');
      expect(typeof event.outTradeNo).toBe('string');
      expect(typeof event.transactionId).toBe('string');
    });

    it('answers SUCCESS for HMAC-SHA256 notifications with and without sign_type', async () => {
      await expectReply(
        await postXml(app, notification({ signType: 'HMAC-SHA256' }).xml),
        'SUCCESS',
      );
      await expectReply(
        await postXml(app, notification({ signType: 'HMAC-SHA256', includeSignType: false }).xml),
        'SUCCESS',
      );
      expect(listener.events.map((e) => e.signType)).toEqual(['HMAC-SHA256', 'HMAC-SHA256']);
    });

    it.each(hostileBodies)(
      'answers 200 FAIL without calling the handler when %s, and stays healthy',
      async (_case, send, reason) => {
        const res = await send(app);
        await expectReply(res, 'FAIL');
        expect(await parseNotifyReply(res.text)).toEqual({
          returnCode: 'FAIL',
          returnMsg: reason(setup),
        });
        expect(listener.events).toHaveLength(0);

        await expectReply(await postXml(app, notification().xml), 'SUCCESS');
        expect(listener.events).toHaveLength(1);
      },
    );

    it('answers FAIL while the handler throws and SUCCESS on the retry once it works', async () => {
      listener.failure = new Error('order store unavailable at db://admin:pw@10.0.0.5');
      const { xml } = notification();

      const failed = await postXml(app, xml);
      await expectReply(failed, 'FAIL');
      expect(failed.text).not.toContain('order store');

      listener.failure = undefined;
      await expectReply(await postXml(app, xml), 'SUCCESS');
      expect(listener.events).toHaveLength(1);
    });
  });
});

describe('notify route under a chunked upload', () => {
  let app: NestExpressApplication;

  beforeEach(async () => {
    app = await startHost(WechatPayModule.forRoot(OPTIONS), {
      rawBody: false,
      xmlTextParser: false,
    });
  });

  afterEach(() => app.close());

  it('answers 200 FAIL to a chunked body past the limit and then serves a valid notification', async () => {
    const res = await postChunked(app, Buffer.alloc(64 * 1024, 'x'), 16);
    expect(res.status).toBe(200);
    expect(await parseNotifyReply(res.text)).toEqual({
      returnCode: 'FAIL',
      returnMsg: 'body too large',
    });

    await expectReply(await postXml(app, notification().xml), 'SUCCESS');
    expect(app.get(PaymentsListener).events).toHaveLength(1);
  });
});

/** A host that turned the built-in route off and serves notifications from its own controller. */
@Controller('payments')
class HostNotifyController {
  constructor(private readonly notify: WechatPayNotifyService) {}

  @Post('wechat-notify')
  async receive(@Req() req: RawBodyRequest<Request>, @Res() res: Response): Promise<void> {
    const result = await this.notify.handle(req.rawBody ?? '');
    res.status(200).type('text/xml').send(result.reply);
  }
}

describe.each(registrations)(
  'WechatPayModule.%s with notifyController: false',
  (_registration, register) => {
    let app: NestExpressApplication;
    let listener: PaymentsListener;

    beforeEach(async () => {
      app = await startHost(
        register({ notifyController: false }),
        { rawBody: true, xmlTextParser: true },
        [HostNotifyController],
      );
      listener = app.get(PaymentsListener);
    });

    afterEach(() => app.close());

    it('mounts no notify route of its own', async () => {
      const res = await postXml(app, notification().xml);
      expect(res.status).toBe(404);
      expect(listener.events).toHaveLength(0);
    });

    it('lets the host route verify and dispatch through WechatPayNotifyService', async () => {
      await expectReply(
        await postXml(app, notification({ totalFee: 77 }).xml, '/payments/wechat-notify'),
        'SUCCESS',
      );
      expect(listener.events.map((e) => e.totalFee)).toEqual([77]);
    });

    it('lets the host route refuse a bad signature', async () => {
      const res = await postXml(
        app,
        notification({ sign: 'A'.repeat(32) }).xml,
        '/payments/wechat-notify',
      );
      await expectReply(res, 'FAIL');
      expect(listener.events).toHaveLength(0);
    });
  },
);
