import { DemoConfigError, loadDemoConfig } from './demo.config';

const SIM = {
  appId: 'wxsimulator000001',
  appSecret: 'sim-secret',
  mchId: '1900000109',
  apiKey: 'S'.repeat(32),
};
const secret = () => 'generated-session-secret';

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadDemoConfig(env, SIM, secret);
  } catch (error) {
    if (error instanceof DemoConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the environment to be refused');
}

describe('loadDemoConfig', () => {
  it('runs on embedded defaults: SQLite file, the simulator and its test merchant', () => {
    const config = loadDemoConfig({}, SIM, secret);
    expect(config.port).toBe(3000);
    expect(config.databaseUrl).toBe('sqlite:data/demo.sqlite');
    expect(config.simulator).toBe(true);
    expect(config.wechat).toMatchObject({
      appId: SIM.appId,
      mchId: SIM.mchId,
      apiKey: SIM.apiKey,
      signType: 'HMAC-SHA256',
      payBaseUrl: 'http://127.0.0.1:3100',
      apiBaseUrl: 'http://127.0.0.1:3100',
      notifyUrl: 'http://127.0.0.1:3000/wechat-pay/notify',
    });
    expect(config.sessionSecret).toBe('generated-session-secret');
    expect(config.reconciler.enabled).toBe(true);
  });

  it('reads every setting from the environment', () => {
    const config = loadDemoConfig(
      {
        PORT: '8080',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/shop',
        SIMULATOR: 'off',
        WECHAT_APP_ID: 'wxreal0000000001',
        WECHAT_APP_SECRET: 'real-secret',
        WECHAT_MCH_ID: '1230000109',
        WECHAT_API_KEY: 'K'.repeat(32),
        WECHAT_SIGN_TYPE: 'MD5',
        WECHAT_NOTIFY_URL: 'https://shop.example.com/wechat-pay/notify',
        SESSION_SECRET: 'a-long-enough-session-secret',
        ORDER_TTL_MINUTES: '15',
        RECONCILER_ENABLED: 'false',
        RECONCILER_INTERVAL_MS: '2500',
      },
      SIM,
      secret,
    );
    expect(config.port).toBe(8080);
    expect(config.simulator).toBe(false);
    expect(config.wechat.payBaseUrl).toBe('https://api.mch.weixin.qq.com');
    expect(config.wechat.apiBaseUrl).toBe('https://api.weixin.qq.com');
    expect(config.wechat.signType).toBe('MD5');
    expect(config.orderTtlMinutes).toBe(15);
    expect(config.reconciler).toMatchObject({ enabled: false, intervalMs: 2500 });
    expect(config.sessionSecret).toBe('a-long-enough-session-secret');
  });

  it('requires real credentials when the simulator is off', () => {
    expect(problems({ SIMULATOR: 'off' })).toEqual(
      expect.arrayContaining([
        'WECHAT_APP_ID is required when SIMULATOR=off',
        'WECHAT_API_KEY is required when SIMULATOR=off',
        'WECHAT_NOTIFY_URL is required when SIMULATOR=off',
      ]),
    );
  });

  it('names each bad variable and never repeats a secret value', () => {
    const badKey = 'too-short-but-secret';
    const found = problems({
      PORT: 'abc',
      WECHAT_API_KEY: badKey,
      WECHAT_SIGN_TYPE: 'SHA1',
      DATABASE_URL: 'mysql://x',
      ORDER_TTL_MINUTES: '3',
      WECHAT_NOTIFY_URL: 'https://shop.example.com/notify?x=1',
    });
    const text = found.join('\n');
    for (const name of [
      'PORT',
      'WECHAT_API_KEY',
      'WECHAT_SIGN_TYPE',
      'DATABASE_URL',
      'ORDER_TTL_MINUTES',
      'WECHAT_NOTIFY_URL',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).not.toContain(badKey);
  });

  it('serves /docs and /metrics outside production, with rate limits in the process', () => {
    const config = loadDemoConfig({}, SIM, secret);
    expect(config.apiDocs).toBe(true);
    expect(config.metrics).toEqual({ enabled: true, token: undefined });
    expect(config.trustProxy).toBe(false);
    expect(config.rateLimit).toEqual({
      windowMs: 60_000,
      loginPerIp: 60,
      ordersPerUser: 10,
      ordersPerIp: 120,
      redisUrl: undefined,
      redisKeyPrefix: 'demo-shop:',
    });
    expect(config.wechat).toMatchObject({ connectTimeoutMs: 6000, readTimeoutMs: 8000 });
  });

  it('keeps /docs and /metrics off in production unless asked for, or a token protects /metrics', () => {
    expect(loadDemoConfig({ NODE_ENV: 'production' }, SIM, secret)).toMatchObject({
      apiDocs: false,
      metrics: { enabled: false },
    });
    expect(
      loadDemoConfig({ NODE_ENV: 'production', API_DOCS: 'on', METRICS: 'on' }, SIM, secret),
    ).toMatchObject({ apiDocs: true, metrics: { enabled: true } });
    const token = 'a-long-metrics-token';
    expect(
      loadDemoConfig({ NODE_ENV: 'production', METRICS_TOKEN: token }, SIM, secret).metrics,
    ).toEqual({ enabled: true, token });
  });

  it('reads rate limits, Redis, proxies and WeChat timeouts', () => {
    const config = loadDemoConfig(
      {
        RATE_LIMIT_WINDOW_MS: '30000',
        RATE_LIMIT_LOGIN_PER_IP: '5',
        RATE_LIMIT_ORDERS_PER_USER: '3',
        RATE_LIMIT_ORDERS_PER_IP: '7',
        REDIS_URL: 'redis://127.0.0.1:6379/2',
        REDIS_KEY_PREFIX: 'shop-a:',
        TRUST_PROXY: '1',
        WECHAT_CONNECT_TIMEOUT_MS: '2000',
        WECHAT_READ_TIMEOUT_MS: '5000',
      },
      SIM,
      secret,
    );
    expect(config.rateLimit).toEqual({
      windowMs: 30_000,
      loginPerIp: 5,
      ordersPerUser: 3,
      ordersPerIp: 7,
      redisUrl: 'redis://127.0.0.1:6379/2',
      redisKeyPrefix: 'shop-a:',
    });
    expect(config.trustProxy).toBe(1);
    expect(config.wechat).toMatchObject({ connectTimeoutMs: 2000, readTimeoutMs: 5000 });
    expect(loadDemoConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }, SIM, secret).trustProxy).toBe(
      'loopback, 10.0.0.0/8',
    );
    expect(loadDemoConfig({ TRUST_PROXY: 'on' }, SIM, secret).trustProxy).toBe(true);
  });

  it('refuses limits, URLs and tokens it cannot use, without repeating the token', () => {
    const shortToken = 'short-secret';
    const found = problems({
      RATE_LIMIT_ORDERS_PER_USER: '0',
      RATE_LIMIT_WINDOW_MS: 'soon',
      REDIS_URL: 'http://127.0.0.1:6379',
      METRICS_TOKEN: shortToken,
      API_DOCS: 'maybe',
    }).join('\n');
    for (const name of [
      'RATE_LIMIT_ORDERS_PER_USER',
      'RATE_LIMIT_WINDOW_MS',
      'REDIS_URL',
      'METRICS_TOKEN',
      'API_DOCS',
    ]) {
      expect(found).toContain(name);
    }
    expect(found).not.toContain(shortToken);
  });

  it('refuses a reconciler lease too short to hold one WeChat call', () => {
    expect(problems({ RECONCILER_LEASE_MS: '5000', WECHAT_CONNECT_TIMEOUT_MS: '6000' })).toEqual([
      'RECONCILER_LEASE_MS is too short for one WeChat call within WECHAT_CONNECT_TIMEOUT_MS',
    ]);
  });
});
