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
});
