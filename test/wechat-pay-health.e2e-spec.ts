import { createServer, type AddressInfo, type Server } from 'node:net';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { HealthCheckService } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  WechatPayConfig,
  WechatPayModule,
  WechatPayTransport,
  type TransportRequestOptions,
  type WechatPayModuleOptions,
} from 'nestjs-wechat-pay-v2';
import {
  WECHAT_PAY_HEALTH_OPTIONS,
  WechatPayHealthIndicator,
  WechatPayHealthModule,
  type WechatPayProbeState,
} from 'nestjs-wechat-pay-v2/health';
import { startSimulator, TEST_MERCHANT, type RunningSimulator } from 'wechat-pay-v2-simulator';
import { DemoHarness } from './demo/harness';

/** A port nothing listens on: connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Sends WeChat calls to a closed port while `refusing` is on, as a network partition does. */
class SwitchableTransport extends WechatPayTransport {
  static refusing = false;
  static refusedBase = '';

  override postXml(url: string, body: string, options?: TransportRequestOptions) {
    const target = SwitchableTransport.refusing
      ? url.replace(/^https?:\/\/[^/]+/, SwitchableTransport.refusedBase)
      : url;
    return super.postXml(target, body, options);
  }
}

describe('WechatPayHealthIndicator with HealthCheckService', () => {
  let sim: RunningSimulator;
  let app: INestApplication;
  let indicator: WechatPayHealthIndicator;

  @Controller('health')
  class WechatHealthController {
    constructor(
      private readonly health: HealthCheckService,
      private readonly wechat: WechatPayHealthIndicator,
    ) {}

    @Get('wechat')
    check() {
      return this.health.check([() => this.wechat.isHealthy('wechat')]);
    }
  }

  async function start(
    options: Partial<WechatPayModuleOptions> = {},
    minIntervalMs = 60_000,
  ): Promise<void> {
    @Module({
      imports: [
        WechatPayModule.forRoot({
          appId: TEST_MERCHANT.appId,
          mchId: TEST_MERCHANT.mchId,
          apiKey: TEST_MERCHANT.apiKey,
          baseUrl: sim.baseUrl,
          notifyController: false,
          ...options,
        }),
        WechatPayHealthModule.register({ failuresBeforeDown: 3, minIntervalMs }),
      ],
      controllers: [WechatHealthController],
    })
    class HostModule {}
    const moduleRef = await Test.createTestingModule({ imports: [HostModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    indicator = app.get(WechatPayHealthIndicator);
  }

  beforeAll(async () => {
    sim = await startSimulator({ merchants: [TEST_MERCHANT] });
  });

  afterEach(async () => {
    sim.controls.resetFaults();
    await app?.close();
  });

  afterAll(() => sim.stop());

  const systemErrors = (count: number) =>
    sim.controls.setFaults({ systemErrorNext: count, systemErrorPaths: ['/pay/orderquery'] });

  it('is up when WeChat answers the signed probe with ORDERNOTEXIST', async () => {
    await start();
    const res = await request(app.getHttpServer()).get('/health/wechat');
    expect(res.status).toBe(200);
    expect(res.body.details.wechat).toMatchObject({
      status: 'up',
      wechat: 'up',
      consecutiveFailures: 0,
      lastResult: 'ORDERNOTEXIST',
    });
  });

  it('stays up through one and two SYSTEMERRORs, turns down at the third, and up again at the next success', async () => {
    await start();
    systemErrors(3);
    const states: Array<Pick<WechatPayProbeState, 'state' | 'consecutiveFailures' | 'lastResult'>> =
      [];
    for (let i = 0; i < 4; i += 1) {
      const { state, consecutiveFailures, lastResult } = await indicator.probe();
      states.push({ state, consecutiveFailures, lastResult });
    }
    expect(states).toEqual([
      { state: 'up', consecutiveFailures: 1, lastResult: 'SYSTEMERROR' },
      { state: 'up', consecutiveFailures: 2, lastResult: 'SYSTEMERROR' },
      { state: 'down', consecutiveFailures: 3, lastResult: 'SYSTEMERROR' },
      { state: 'up', consecutiveFailures: 0, lastResult: 'ORDERNOTEXIST' },
    ]);
  });

  it('answers 503 on its endpoint once down, and 200 again after WeChat recovers', async () => {
    await start();
    systemErrors(3);
    for (let i = 0; i < 3; i += 1) await indicator.probe();
    const down = await request(app.getHttpServer()).get('/health/wechat');
    expect(down.status).toBe(503);
    expect(down.body.error.wechat).toMatchObject({ status: 'down', consecutiveFailures: 3 });
    await indicator.probe();
    expect((await request(app.getHttpServer()).get('/health/wechat').expect(200)).body.status).toBe(
      'ok',
    );
  });

  it('counts a key WeChat refuses as a failed probe', async () => {
    await start({ apiKey: 'W'.repeat(32) });
    const state = await indicator.probe();
    expect(state).toMatchObject({ consecutiveFailures: 1, lastResult: 'RETURN_FAIL' });
  });

  it('returns the last state without waiting for the probe it starts once that state is stale', async () => {
    await start({}, 0);
    const first = await indicator.state();
    expect(first.lastResult).toBe('ORDERNOTEXIST');
    sim.controls.setFaults({ slowResponseMs: 1500, slowPaths: ['/pay/orderquery'] });
    const current = indicator.state();
    // probe() joins the slow probe that state() started in the background.
    const probing = indicator.probe();
    const winner = await Promise.race([current.then(() => 'state'), probing.then(() => 'probe')]);
    expect(winner).toBe('state');
    await expect(current).resolves.toEqual(first);
    await probing;
  });
});

describe('the demo /health during a WeChat outage', () => {
  let harness: DemoHarness;

  beforeAll(async () => {
    SwitchableTransport.refusedBase = `http://127.0.0.1:${await closedPort()}`;
    harness = await DemoHarness.start(
      {},
      {
        override: (builder) =>
          builder
            .overrideProvider(WECHAT_PAY_HEALTH_OPTIONS)
            .useValue({ failuresBeforeDown: 3, minIntervalMs: 0, timeoutMs: 1000 })
            .overrideProvider(WechatPayTransport)
            .useFactory({
              factory: (config: WechatPayConfig) => new SwitchableTransport(config),
              inject: [WechatPayConfig],
            }),
      },
    );
  });

  afterEach(() => {
    SwitchableTransport.refusing = false;
    harness.simulator.controls.resetFaults();
  });

  afterAll(() => harness?.close());

  /**
   * Calls /health until `done` holds for its body (each call also starts the next probe), and
   * returns every status and body seen.
   */
  async function pollHealth(
    done: (wechat: WechatPayProbeState) => boolean,
  ): Promise<Array<{ status: number; body: { wechat?: WechatPayProbeState; details?: unknown } }>> {
    const seen: Array<{ status: number; body: { wechat?: WechatPayProbeState } }> = [];
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await harness.http().get('/health');
      seen.push({ status: res.status, body: res.body as { wechat?: WechatPayProbeState } });
      const wechat = (res.body as { wechat?: WechatPayProbeState }).wechat;
      if (wechat !== undefined && done(wechat)) return seen;
      if (Date.now() > deadline) throw new Error(`gave up; last body ${JSON.stringify(res.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('is 200 with the database and WeChat up', async () => {
    const [first] = await pollHealth((wechat) => wechat.lastResult === 'ORDERNOTEXIST');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      status: 'ok',
      info: { database: { status: 'up' } },
      wechat: { state: 'up' },
    });
  });

  it('stays 200 while WeChat answers SYSTEMERROR to everything, and says WeChat is down', async () => {
    harness.simulator.controls.setFaults({
      systemErrorRate: 1,
      systemErrorPaths: ['/pay/orderquery'],
    });
    const seen = await pollHealth((wechat) => wechat.state === 'down');
    expect(seen.every(({ status }) => status === 200)).toBe(true);
    expect(seen.at(-1)?.body.wechat).toMatchObject({ state: 'down', lastResult: 'SYSTEMERROR' });
    expect((await harness.http().get('/health/wechat')).status).toBe(503);

    harness.simulator.controls.resetFaults();
    const recovered = await pollHealth((wechat) => wechat.state === 'up');
    expect(recovered.every(({ status }) => status === 200)).toBe(true);
  });

  it('stays 200 while connections to WeChat are refused, and says WeChat is down', async () => {
    SwitchableTransport.refusing = true;
    const seen = await pollHealth((wechat) => wechat.state === 'down');
    expect(seen.every(({ status }) => status === 200)).toBe(true);
    expect(seen.at(-1)?.body.wechat).toMatchObject({ state: 'down', lastResult: 'TRANSPORT' });
    SwitchableTransport.refusing = false;
    await pollHealth((wechat) => wechat.state === 'up');
  });

  it('changes nothing for one SYSTEMERROR: /health and /health/wechat stay 200 and WeChat up', async () => {
    await pollHealth((wechat) => wechat.consecutiveFailures === 0);
    harness.simulator.controls.setFaults({
      systemErrorNext: 1,
      systemErrorPaths: ['/pay/orderquery'],
    });
    const seen = await pollHealth((wechat) => wechat.lastResult === 'SYSTEMERROR');
    seen.push(...(await pollHealth((wechat) => wechat.lastResult === 'ORDERNOTEXIST')));
    expect(seen.every(({ status }) => status === 200)).toBe(true);
    expect(seen.every(({ body }) => body.wechat?.state === 'up')).toBe(true);
    expect(Math.max(...seen.map(({ body }) => body.wechat?.consecutiveFailures ?? 0))).toBe(1);
    const wechat = await harness.http().get('/health/wechat');
    expect(wechat.status).toBe(200);
  });
});
