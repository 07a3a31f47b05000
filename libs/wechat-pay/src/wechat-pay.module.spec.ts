import { Injectable, Logger, Module, type INestApplication } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import request from 'supertest';
import { WechatPayConfig, type WechatPayModuleOptions } from './config/wechat-pay.options';
import { WechatPayConfigError } from './errors/errors';
import { WechatPayGateway } from './gateway/gateway.service';
import { WechatPayNotifyService } from './notify/notify.service';
import { WechatPaySigner } from './signer/signer.service';
import { WechatPayModule } from './wechat-pay.module';
import { HttpAdapterHost } from '@nestjs/core';
import * as FASTIFY_CONSTANTS from '@nestjs/platform-fastify/constants';
import { WechatLoginService } from './login/login.service';
import { FASTIFY_ROUTE_CONFIG_METADATA } from './notify/notify-route';
import type { WechatPayOptionsFactory } from './wechat-pay.module-definition';

const API_KEY = 'modulespec0123456789abcdefghijkl';
const APP_SECRET = 'app-secret-that-must-never-show-up';
const OPTIONS: WechatPayModuleOptions = {
  appId: 'wx1234567890abcdef',
  mchId: '1900000109',
  apiKey: API_KEY,
  appSecret: APP_SECRET,
  notifyUrl: 'https://shop.example.com/wechat-pay/notify',
};

@Injectable()
class PaymentSettings {
  readonly options: WechatPayModuleOptions = OPTIONS;
}

@Module({ providers: [PaymentSettings], exports: [PaymentSettings] })
class SettingsModule {}

@Injectable()
class OptionsFactory implements WechatPayOptionsFactory {
  createWechatPayOptions(): WechatPayModuleOptions {
    return OPTIONS;
  }
}

@Injectable()
class ExistingOptionsFactory implements WechatPayOptionsFactory {
  async createWechatPayOptions(): Promise<WechatPayModuleOptions> {
    return OPTIONS;
  }
}

@Module({ providers: [ExistingOptionsFactory], exports: [ExistingOptionsFactory] })
class FactoryModule {}

/** A feature module that does not import WechatPayModule itself. */
@Injectable()
class CheckoutService {
  constructor(readonly gateway: WechatPayGateway) {}
}

@Module({ providers: [CheckoutService] })
class CheckoutModule {}

const registrations = [
  ['forRoot', () => WechatPayModule.forRoot(OPTIONS)],
  [
    'forRootAsync with useFactory',
    () => WechatPayModule.forRootAsync({ useFactory: () => OPTIONS }),
  ],
  [
    'forRootAsync with useFactory, imports and inject',
    () =>
      WechatPayModule.forRootAsync({
        imports: [SettingsModule],
        inject: [PaymentSettings],
        useFactory: (settings: PaymentSettings) => settings.options,
      }),
  ],
  ['forRootAsync with useClass', () => WechatPayModule.forRootAsync({ useClass: OptionsFactory })],
  [
    'forRootAsync with useExisting',
    () =>
      WechatPayModule.forRootAsync({
        imports: [FactoryModule],
        useExisting: ExistingOptionsFactory,
      }),
  ],
] as const;

describe('WechatPayModule', () => {
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  describe.each(registrations)('registered with %s', (_name, register) => {
    let moduleRef: TestingModule;

    beforeEach(async () => {
      moduleRef = await Test.createTestingModule({
        imports: [register(), CheckoutModule],
      }).compile();
    });

    afterEach(() => moduleRef.close());

    it('provides the gateway, signer, notify service and validated config', () => {
      expect(moduleRef.get(WechatPayGateway)).toBeInstanceOf(WechatPayGateway);
      expect(moduleRef.get(WechatPaySigner)).toBeInstanceOf(WechatPaySigner);
      expect(moduleRef.get(WechatPayNotifyService)).toBeInstanceOf(WechatPayNotifyService);
      const config = moduleRef.get(WechatPayConfig);
      expect(config).toMatchObject({
        appId: OPTIONS.appId,
        mchId: OPTIONS.mchId,
        signType: 'HMAC-SHA256',
      });
      expect(Object.isFrozen(config)).toBe(true);
    });

    it('provides mini-program login as its own service', () => {
      expect(moduleRef.get(WechatLoginService)).toBeInstanceOf(WechatLoginService);
    });

    it('is global, so feature modules inject the gateway without importing it', () => {
      expect(moduleRef.get(CheckoutService).gateway).toBe(moduleRef.get(WechatPayGateway));
    });
  });

  it('is not global when isGlobal is false', async () => {
    await expect(
      Test.createTestingModule({
        imports: [WechatPayModule.forRoot({ ...OPTIONS, isGlobal: false }), CheckoutModule],
      }).compile(),
    ).rejects.toThrow(/WechatPayGateway/);
  });

  describe('notify route', () => {
    let app: INestApplication | undefined;

    afterEach(async () => {
      await app?.close();
      app = undefined;
    });

    async function start(module: ReturnType<typeof WechatPayModule.forRoot>) {
      const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
      app = moduleRef.createNestApplication({ logger: false });
      await app.listen(0, '127.0.0.1');
      return app.getHttpServer();
    }

    it('is mounted at wechat-pay/notify by default', async () => {
      const server = await start(WechatPayModule.forRoot(OPTIONS));
      const res = await request(server)
        .post('/wechat-pay/notify')
        .type('text/xml')
        .send('<xml></xml>');
      expect(res.status).toBe(200);
      expect(res.text).toContain('<return_code><![CDATA[FAIL]]></return_code>');
    });

    it('is mounted at a custom notifyPath', async () => {
      const server = await start(
        WechatPayModule.forRoot({ ...OPTIONS, notifyPath: 'hooks/wxpay' }),
      );
      const res = await request(server).post('/hooks/wxpay').type('text/xml').send('<xml></xml>');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/xml/);
      expect((await request(server).post('/wechat-pay/notify').send('<xml></xml>')).status).toBe(
        404,
      );
    });

    it.each(['wechat/:id/notify', 'notify/*', 'a b'])(
      'stops start-up for a notifyPath that is not a literal path (%s)',
      (notifyPath) => {
        expect(() => WechatPayModule.forRoot({ ...OPTIONS, notifyPath })).toThrow(
          WechatPayConfigError,
        );
      },
    );

    it('stops start-up on an HTTP adapter it cannot set the route up on, saying what to do', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [WechatPayModule.forRoot(OPTIONS)],
      }).compile();
      const host = moduleRef.get(HttpAdapterHost);
      host.httpAdapter = { getType: () => 'koa' } as unknown as typeof host.httpAdapter;
      const error: unknown = await moduleRef.init().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(WechatPayConfigError);
      expect((error as Error).message).toMatch(
        /"koa".*notifyController: false.*WechatPayNotifyService\.handle\(\)/,
      );
    });

    it('uses the metadata key @nestjs/platform-fastify copies into route config', () => {
      expect(FASTIFY_ROUTE_CONFIG_METADATA).toBe(FASTIFY_CONSTANTS.FASTIFY_ROUTE_CONFIG_METADATA);
    });

    it('is not mounted when notifyController is false', async () => {
      const server = await start(WechatPayModule.forRoot({ ...OPTIONS, notifyController: false }));
      const res = await request(server)
        .post('/wechat-pay/notify')
        .type('text/xml')
        .send('<xml></xml>');
      expect(res.status).toBe(404);
    });
  });

  describe('invalid options', () => {
    const BAD_KEY = 'short-api-key-of-31-characters!';

    it.each([
      ['an apiKey of 31 characters', { apiKey: BAD_KEY }, 'apiKey'],
      ['an unknown signType', { signType: 'SHA1' }, 'signType'],
      ['a missing appId', { appId: undefined }, 'appId'],
      [
        'a notifyUrl with a query string',
        { notifyUrl: 'https://shop.example.com/notify?order=1' },
        'notifyUrl',
      ],
    ])('stop start-up on %s, naming the field and no secret', async (_case, change, field) => {
      expect(BAD_KEY).toHaveLength(31);
      const options = { ...OPTIONS, ...change } as WechatPayModuleOptions;
      for (const module of [
        WechatPayModule.forRoot(options),
        WechatPayModule.forRootAsync({ useFactory: async () => options }),
      ]) {
        const error: unknown = await Test.createTestingModule({ imports: [module] })
          .compile()
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(error).toBeInstanceOf(WechatPayConfigError);
        const text = `${(error as Error).message}\n${String(error)}\n${JSON.stringify(error)}`;
        expect(text).toContain(field);
        for (const secret of [BAD_KEY, API_KEY, APP_SECRET]) {
          expect(text).not.toContain(secret);
        }
      }
    });
  });
});

describe('WechatPayModule in a standalone application context', () => {
  it('starts without an HTTP server (a CLI or a worker), with no notify route to install', async () => {
    const { NestFactory } = await import('@nestjs/core');
    const context = await NestFactory.createApplicationContext(WechatPayModule.forRoot(OPTIONS), {
      logger: false,
      abortOnError: false,
    });
    try {
      expect(context.get(HttpAdapterHost).httpAdapter).toBeNull();
      expect(context.get(WechatPayGateway)).toBeInstanceOf(WechatPayGateway);
    } finally {
      await context.close();
    }
  });
});
