import { inspect } from 'node:util';
import { WechatPayConfigError } from '../errors/errors';
import { sign } from '../signer/sign';
import { WechatPaySigner } from '../signer/signer.service';
import { resolveWechatPayConfig, WechatPayConfig } from './wechat-pay.options';

const API_KEY = 'Secret0Key1Of2Exactly3ThirtyTwo4';
const APP_SECRET = 'app-secret-never-shown';
const valid = {
  appId: 'wx0123456789abcdef',
  mchId: '1230000109',
  apiKey: API_KEY,
  appSecret: APP_SECRET,
};

function configError(options: unknown): WechatPayConfigError {
  try {
    resolveWechatPayConfig(options);
  } catch (error) {
    if (error instanceof WechatPayConfigError) return error;
    throw error;
  }
  throw new Error('expected the options to be refused');
}

describe('resolveWechatPayConfig', () => {
  it('fills the documented defaults', () => {
    const config = resolveWechatPayConfig(valid);
    expect(config).toBeInstanceOf(WechatPayConfig);
    expect(config.signType).toBe('HMAC-SHA256');
    expect(config.baseUrl).toBe('https://api.mch.weixin.qq.com');
    expect(config.apiBaseUrl).toBe('https://api.weixin.qq.com');
    expect(config.connectTimeoutMs).toBe(6000);
    expect(config.readTimeoutMs).toBe(8000);
    expect(config.maxBodyBytes).toBe(65536);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('holds no secret where anything holding the config could read it', () => {
    const config = resolveWechatPayConfig(valid);
    const reachable = [
      ...Object.getOwnPropertyNames(config),
      ...Object.getOwnPropertySymbols(config).map(String),
    ];
    expect(reachable).not.toContain('apiKey');
    expect(reachable).not.toContain('appSecret');
    for (const name of Object.getOwnPropertyNames(config)) {
      expect(String((config as unknown as Record<string, unknown>)[name])).not.toBe(API_KEY);
    }
    expect(config.hasAppSecret).toBe(true);
    expect(inspect(config, { showHidden: true, depth: 5 })).not.toContain(API_KEY);
  });

  it('signs with the configured key through the signer only', () => {
    const config = resolveWechatPayConfig(valid);
    const params = { appid: valid.appId, nonce_str: 'abc' };
    expect(new WechatPaySigner(config).sign(params, 'MD5')).toBe(sign(params, API_KEY, 'MD5'));
  });

  it.each([
    ['not an object', 'hooks!'],
    ['a hook that is not a function', { onGatewayCall: 'log' }],
  ])('refuses hooks that are %s', (_case, hooks) => {
    expect(configError({ ...valid, hooks }).fields.map((f) => f.field)).toEqual(['hooks']);
  });

  it('accepts a service instance whose hooks are prototype methods', () => {
    class Metrics {
      readonly seen: string[] = [];
      onGatewayCall(): void {
        this.seen.push('call');
      }
    }
    expect(resolveWechatPayConfig({ ...valid, hooks: new Metrics() })).toBeInstanceOf(
      WechatPayConfig,
    );
  });

  it('drops a trailing slash from base URLs so paths join cleanly', () => {
    const config = resolveWechatPayConfig({ ...valid, baseUrl: 'http://127.0.0.1:3100/' });
    expect(config.baseUrl).toBe('http://127.0.0.1:3100');
  });

  it.each([
    ['apiKey', { apiKey: API_KEY.slice(1) }, /apiKey \(must be exactly 32 characters\)/],
    ['apiKey', { apiKey: `${API_KEY}x` }, /apiKey/],
    ['signType', { signType: 'SHA1' }, /signType \(must be one of MD5, HMAC-SHA256\)/],
    ['appId', { appId: undefined }, /appId/],
    ['mchId', { mchId: 'abc' }, /mchId \(must be 1 to 32 digits\)/],
    [
      'notifyUrl',
      { notifyUrl: 'https://shop.example.com/notify?x=1' },
      /notifyUrl \(.*query string/,
    ],
    ['notifyUrl', { notifyUrl: '/relative/notify' }, /notifyUrl \(must be an absolute/],
    ['readTimeoutMs', { readTimeoutMs: 0 }, /readTimeoutMs/],
    ['appSecret', { appSecret: '' }, /appSecret/],
  ])('refuses a bad %s with a message naming the field', (field, patch, message) => {
    const error = configError({ ...valid, ...patch });
    expect(error.fields.map((f) => f.field)).toContain(field);
    expect(error.message).toMatch(message);
  });

  it('never echoes a secret in the error, even when the secret is the bad value', () => {
    const badKey = 'short-but-secret-api-key-value';
    const error = configError({ ...valid, apiKey: badKey, appSecret: 42 });
    for (const text of [error.message, String(error), inspect(error), JSON.stringify(error)]) {
      expect(text).not.toContain(badKey);
      expect(text).not.toContain(APP_SECRET);
    }
  });

  it('refuses options that are not an object', () => {
    expect(configError(undefined).message).toMatch(/options/);
  });

  it('keeps secrets out of JSON, spreading and util.inspect', () => {
    const config = resolveWechatPayConfig(valid);
    for (const text of [JSON.stringify(config), inspect(config), JSON.stringify({ ...config })]) {
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain(APP_SECRET);
    }
    expect(JSON.stringify(config)).toContain('1230000109');
  });
});
