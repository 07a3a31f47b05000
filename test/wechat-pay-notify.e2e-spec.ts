import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Body,
  Controller,
  Header,
  HttpCode,
  Injectable,
  Module,
  Post,
  Req,
  type DynamicModule,
  type INestApplication,
  type LoggerService,
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
  type PaymentNotification,
  type WechatPayModuleOptions,
  type WechatPayNotificationEvent,
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

/** Another route of the host, to show its body parsing is left exactly as the host set it up. */
@Controller('echo')
class EchoController {
  @Post()
  @HttpCode(200)
  echo(@Body() body: unknown): unknown {
    return { body };
  }
}

/** Every line the app logged, to check no stack is written for a refused body. */
class RecordingLogger implements LoggerService {
  readonly lines: string[] = [];
  private record(level: string, args: unknown[]): void {
    this.lines.push(
      `${level} ${args.map((a) => (a instanceof Error ? a.stack : String(a))).join(' ')}`,
    );
  }
  log(...args: unknown[]) {
    this.record('log', args);
  }
  error(...args: unknown[]) {
    this.record('error', args);
  }
  warn(...args: unknown[]) {
    this.record('warn', args);
  }
  debug(...args: unknown[]) {
    this.record('debug', args);
  }
  verbose(...args: unknown[]) {
    this.record('verbose', args);
  }
}

type AdapterName = 'express' | 'fastify';

interface HostSetup {
  name: string;
  rawBody: boolean;
  /** A global prefix: the notify route then lives under it. */
  prefix?: string;
  /** Body parsers the host adds on top of Nest's defaults. */
  parsers?: (app: INestApplication, adapter: AdapterName) => void;
}

const hosts: HostSetup[] = [
  { name: "Nest's default body parsers", rawBody: false },
  { name: 'rawBody: true', rawBody: true },
  {
    name: 'an XML text parser with a 1 KiB limit and rawBody',
    rawBody: true,
    parsers: (app, adapter) => {
      if (adapter === 'express') {
        (app as NestExpressApplication).useBodyParser('text', {
          type: ['text/xml', 'application/xml'],
          limit: '1kb',
        });
      } else {
        (app as NestFastifyApplication).useBodyParser(['text/xml', 'application/xml'], {
          bodyLimit: 1024,
        });
      }
    },
  },
  {
    name: 'a raw parser for every non-JSON type with a 1 KiB limit and a global prefix',
    rawBody: false,
    prefix: 'api',
    parsers: (app, adapter) => {
      if (adapter === 'express') {
        // Reads every body that is not JSON, whatever its type, or none (so it sees the
        // notify route's bodies too); JSON still goes to Nest's parser.
        app.use(
          expressRaw({
            type: (req) => !String(req.headers['content-type'] ?? '').includes('json'),
            limit: '1kb',
          }),
        );
      } else {
        (app as NestFastifyApplication)
          .getHttpAdapter()
          .getInstance()
          .addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 }, (_req, body, done) =>
            done(null, body),
          );
      }
    },
  },
];

const registrations: ReadonlyArray<
  [string, (extras?: { notifyController?: boolean }) => DynamicModule]
> = [
  ['forRoot', (extras = {}) => WechatPayModule.forRoot({ ...OPTIONS, ...hooked, ...extras })],
  [
    'forRootAsync (useFactory)',
    (extras = {}) =>
      WechatPayModule.forRootAsync({
        useFactory: async () => ({ ...OPTIONS, ...hooked }),
        ...extras,
      }),
  ],
];

/** What the onNotification hook saw, across the suite; each test starts from empty. */
const outcomes: WechatPayNotificationEvent[] = [];
const hooked = {
  hooks: { onNotification: (event: WechatPayNotificationEvent) => outcomes.push(event) },
};

interface Host {
  app: INestApplication;
  listener: PaymentsListener;
  logger: RecordingLogger;
  notifyPath: string;
}

async function startHost(
  adapter: AdapterName,
  wechatPay: DynamicModule,
  setup: HostSetup,
  controllers: Array<new (...args: never[]) => unknown> = [],
): Promise<Host> {
  @Module({
    imports: [wechatPay],
    providers: [PaymentsListener],
    controllers: [EchoController, ...controllers],
  })
  class HostModule {}

  const moduleRef = await Test.createTestingModule({ imports: [HostModule] }).compile();
  const logger = new RecordingLogger();
  const app =
    adapter === 'express'
      ? moduleRef.createNestApplication<NestExpressApplication>({ rawBody: setup.rawBody, logger })
      : moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), {
          rawBody: setup.rawBody,
          logger,
        });
  if (setup.prefix) app.setGlobalPrefix(setup.prefix);
  setup.parsers?.(app, adapter);
  await app.listen(0, '127.0.0.1');
  const prefix = setup.prefix ? `/${setup.prefix}` : '';
  return {
    app,
    listener: app.get(PaymentsListener),
    logger,
    notifyPath: `${prefix}/wechat-pay/notify`,
  };
}

function notification(overrides: Partial<PaymentNotificationOptions> = {}) {
  return buildPaymentNotification({ ...OPTIONS, ...overrides });
}

function post(host: Host, body: string | Buffer, contentType?: string, path = host.notifyPath) {
  const req = request(host.app.getHttpServer()).post(path);
  if (contentType !== undefined) req.set('Content-Type', contentType);
  return req.send(body);
}

const postXml = (host: Host, body: string, path?: string) => post(host, body, 'text/xml', path);

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

/** Sends a chunked body (no Content-Length) over a plain socket and returns the reply. */
function postChunked(
  host: Host,
  chunk: Buffer,
  times: number,
): Promise<{ status: number; headers: Record<string, string>; text: string }> {
  const { port } = (host.app.getHttpServer() as { address(): AddressInfo }).address();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: host.notifyPath,
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (part: string) => (text += part));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers as Record<string, string>,
            text,
          }),
        );
      },
    );
    req.on('error', reject);
    for (let i = 0; i < times; i += 1) req.write(chunk);
    req.end();
  });
}

const ONE_MIB = 1024 * 1024;

/** Each hostile request and the fixed reason the reply gives, whatever the host's parsers. */
const hostileBodies: Array<[string, (host: Host) => request.Test, string]> = [
  [
    'the signature is wrong',
    (h) => postXml(h, notification({ sign: 'F'.repeat(32) }).xml),
    'invalid sign',
  ],
  [
    'it is for another appid',
    (h) => postXml(h, notification({ appId: 'wxe2e0000000000002' }).xml),
    'appid mismatch',
  ],
  [
    'it is for another mch_id',
    (h) => postXml(h, notification({ mchId: '1900000110' }).xml),
    'mch_id mismatch',
  ],
  [
    'the XML is malformed',
    (h) => postXml(h, '<xml><return_code>SUCCESS</return_code>'),
    'invalid XML',
  ],
  [
    'it declares an external entity (XXE)',
    (h) =>
      postXml(
        h,
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>' +
          '<xml><return_code>SUCCESS</return_code><attach>&x;</attach></xml>',
      ),
    'invalid XML',
  ],
  ['content follows </xml>', (h) => postXml(h, `${notification().xml}<xml></xml>`), 'invalid XML'],
  [
    'the XML body is 1 MiB',
    (h) => postXml(h, notification({ attach: 'x'.repeat(ONE_MIB) }).xml),
    'body too large',
  ],
  ['the body is empty', (h) => postXml(h, ''), 'empty body'],
  [
    'the body is JSON sent as application/json',
    (h) => post(h, JSON.stringify(notification().fields), 'application/json'),
    'invalid XML',
  ],
  [
    'the body is malformed JSON',
    (h) => post(h, '{"return_code": "SUCC', 'application/json'),
    'invalid XML',
  ],
  [
    'the body is 1 MiB of JSON, past the host JSON limit',
    (h) => post(h, JSON.stringify({ pad: 'x'.repeat(ONE_MIB) }), 'application/json'),
    'body too large',
  ],
  [
    'the body is a form',
    (h) => post(h, 'return_code=SUCCESS&sign=x', 'application/x-www-form-urlencoded'),
    'invalid XML',
  ],
  [
    'the JSON declares an unsupported charset',
    (h) => post(h, '{}', 'application/json; charset=klingon'),
    'invalid XML',
  ],
];

describe.each<AdapterName>(['express', 'fastify'])('the notify route on %s', (adapter) => {
  describe.each(registrations)('registered with WechatPayModule.%s', (_registration, register) => {
    describe.each(hosts)('in a host app with $name', (setup) => {
      let host: Host;

      beforeEach(async () => {
        outcomes.length = 0;
        host = await startHost(adapter, register(), setup);
      });

      afterEach(() => host.app.close());

      it('answers SUCCESS/OK and hands the handler the typed event once', async () => {
        const { xml } = notification({
          outTradeNo: 'E2E-ORDER-0001',
          transactionId: '4200000288201903177135850941',
          totalFee: 12345,
          cashFee: 12000,
          attach: '用户备注 & <tags>',
        });

        const res = await postXml(host, xml);

        await expectReply(res, 'SUCCESS', 'OK');
        expect(host.listener.events).toHaveLength(1);
        expect(host.listener.events[0]).toMatchObject({
          resultCode: 'SUCCESS',
          appId: OPTIONS.appId,
          mchId: OPTIONS.mchId,
          outTradeNo: 'E2E-ORDER-0001',
          transactionId: '4200000288201903177135850941',
          totalFee: 12345,
          cashFee: 12000,
          attach: '用户备注 & <tags>',
          signType: 'MD5',
        });
        expect(outcomes).toEqual([{ kind: 'payment', outcome: 'HANDLED' }]);
      });

      it('answers SUCCESS for a notification sent as application/xml and for HMAC-SHA256 with and without sign_type', async () => {
        await expectReply(
          await post(host, notification().xml, 'application/xml; charset=UTF-8'),
          'SUCCESS',
        );
        await expectReply(
          await postXml(host, notification({ signType: 'HMAC-SHA256' }).xml),
          'SUCCESS',
        );
        await expectReply(
          await postXml(
            host,
            notification({ signType: 'HMAC-SHA256', includeSignType: false }).xml,
          ),
          'SUCCESS',
        );
        expect(host.listener.events.map((e) => e.signType)).toEqual([
          'MD5',
          'HMAC-SHA256',
          'HMAC-SHA256',
        ]);
      });

      it.each(hostileBodies)(
        'answers 200 FAIL without calling the handler when %s, and stays healthy',
        async (_case, send, reason) => {
          await expectReply(await send(host), 'FAIL', reason);
          expect(host.listener.events).toHaveLength(0);

          await expectReply(await postXml(host, notification().xml), 'SUCCESS');
          expect(host.listener.events).toHaveLength(1);
        },
      );

      it('logs one line and no stack for an oversize body', async () => {
        const before = host.logger.lines.length;
        await expectReply(
          await post(host, JSON.stringify({ pad: 'x'.repeat(ONE_MIB) }), 'application/json'),
          'FAIL',
          'body too large',
        );
        const lines = host.logger.lines.slice(before);
        expect(lines).toEqual([
          expect.stringMatching(/^warn refused a notification: BODY_TOO_LARGE/),
        ]);
        expect(lines.join('\n')).not.toMatch(/\n\s+at |413|PayloadTooLarge/);
        expect(outcomes).toEqual([{ kind: 'payment', outcome: 'BODY_TOO_LARGE' }]);
      });

      it('refuses a malformed signed notification after a body with trailing junk, as it does on its own', async () => {
        const { xml } = notification({ outTradeNo: 'E2E-POISON-01' });
        const malformed = xml.replace('</xml>', '');
        await expectReply(await postXml(host, malformed), 'FAIL', 'invalid XML');
        await expectReply(await postXml(host, '<xml><a>1</a></xml>junk'), 'FAIL', 'invalid XML');
        await expectReply(await postXml(host, malformed), 'FAIL', 'invalid XML');
        expect(host.listener.events).toHaveLength(0);
      });

      it('answers each of 30 concurrent requests, junk and genuine mixed, as it would alone', async () => {
        const bodies = Array.from({ length: 30 }, (_, i) =>
          i % 3 === 0
            ? { body: '<xml><a>1</a></xml>junk', expect: 'FAIL' as const }
            : i % 3 === 1
              ? { body: notification().xml.replace('</xml>', ''), expect: 'FAIL' as const }
              : {
                  body: notification({ outTradeNo: `E2E-CONC-${i}` }).xml,
                  expect: 'SUCCESS' as const,
                },
        );
        const replies = await Promise.all(bodies.map(({ body }) => postXml(host, body)));
        for (const [i, res] of replies.entries()) await expectReply(res, bodies[i].expect);
        expect(host.listener.events.map((e) => e.outTradeNo).sort()).toEqual(
          bodies
            .map((b, i) => (b.expect === 'SUCCESS' ? `E2E-CONC-${i}` : undefined))
            .filter((no) => no !== undefined)
            .sort(),
        );
      });

      it('answers FAIL while the handler throws and SUCCESS on the retry once it works', async () => {
        host.listener.failure = new Error('order store unavailable at db://admin:pw@10.0.0.5');
        const { xml } = notification();

        const failed = await postXml(host, xml);
        await expectReply(failed, 'FAIL', 'handler failed');
        expect(failed.text).not.toContain('order store');

        host.listener.failure = undefined;
        await expectReply(await postXml(host, xml), 'SUCCESS');
        expect(host.listener.events).toHaveLength(1);
      });

      it("leaves the host's body parsing of its other routes as it was", async () => {
        const echo = `${setup.prefix ? `/${setup.prefix}` : ''}/echo`;
        const parsed = await post(host, JSON.stringify({ a: 1 }), 'application/json', echo);
        expect(parsed.status).toBe(200);
        expect(parsed.body).toEqual({ body: { a: 1 } });
        const malformed = await post(host, '{"a":', 'application/json', echo);
        expect(malformed.status).toBe(400);
      });
    });
  });

  describe('under a chunked upload', () => {
    let host: Host;

    beforeEach(async () => {
      host = await startHost(adapter, WechatPayModule.forRoot(OPTIONS), {
        name: 'default',
        rawBody: false,
      });
    });

    afterEach(() => host.app.close());

    it('answers 200 FAIL to a chunked JSON body past the limit and then serves a valid notification', async () => {
      const res = await postChunked(host, Buffer.alloc(64 * 1024, 'x'), 16);
      await expectReply(res, 'FAIL', 'body too large');

      await expectReply(await postXml(host, notification().xml), 'SUCCESS');
      expect(host.listener.events).toHaveLength(1);
    });
  });

  /** A host that turned the built-in route off and verifies and dispatches in its own controller. */
  @Controller('payments')
  class HostNotifyController {
    constructor(private readonly notify: WechatPayNotifyService) {}

    @Post('wechat-notify')
    @HttpCode(200)
    @Header('Content-Type', 'text/xml; charset=utf-8')
    async receive(@Req() req: { rawBody?: Buffer }): Promise<string> {
      try {
        const verified = await this.notify.verify(req.rawBody ?? '');
        await this.notify.dispatch(verified);
        return notifyReply();
      } catch (error) {
        return notifyReply(error);
      }
    }
  }

  describe.each(registrations)(
    'WechatPayModule.%s with notifyController: false',
    (_r, register) => {
      let host: Host;

      beforeEach(async () => {
        host = await startHost(
          adapter,
          register({ notifyController: false }),
          {
            name: 'own route',
            rawBody: true,
            parsers: (app, name) => {
              if (name === 'express') {
                (app as NestExpressApplication).useBodyParser('text', { type: 'text/xml' });
              } else {
                (app as NestFastifyApplication).useBodyParser('text/xml');
              }
            },
          },
          [HostNotifyController],
        );
      });

      afterEach(() => host.app.close());

      it('mounts no notify route of its own', async () => {
        const res = await postXml(host, notification().xml);
        expect(res.status).toBe(404);
        expect(host.listener.events).toHaveLength(0);
      });

      it('lets the host route verify and dispatch as two steps', async () => {
        await expectReply(
          await postXml(host, notification({ totalFee: 77 }).xml, '/payments/wechat-notify'),
          'SUCCESS',
        );
        expect(host.listener.events.map((e) => e.totalFee)).toEqual([77]);
      });

      it('lets the host route refuse a bad signature with the fixed reason', async () => {
        const res = await postXml(
          host,
          notification({ sign: 'A'.repeat(32) }).xml,
          '/payments/wechat-notify',
        );
        await expectReply(res, 'FAIL', 'invalid sign');
        expect(host.listener.events).toHaveLength(0);
      });
    },
  );
});
