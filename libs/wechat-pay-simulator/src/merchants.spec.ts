import { MerchantRegistry, TEST_MERCHANT, merchantFromEnv } from './merchants';

const OTHER = {
  appId: 'wx0000000000000002',
  mchId: '1900000200',
  apiKey: 'b'.repeat(32),
  appSecret: 'other-secret',
};

describe('merchantFromEnv', () => {
  it('falls back to the built-in test merchant when no variable is set', () => {
    expect(merchantFromEnv({})).toEqual(TEST_MERCHANT);
  });

  it('reads all four WECHAT_* variables', () => {
    const env = {
      WECHAT_APP_ID: OTHER.appId,
      WECHAT_APP_SECRET: OTHER.appSecret,
      WECHAT_MCH_ID: OTHER.mchId,
      WECHAT_API_KEY: OTHER.apiKey,
    };
    expect(merchantFromEnv(env)).toEqual(OTHER);
  });

  it('names the missing variables without echoing the given values', () => {
    const run = () => merchantFromEnv({ WECHAT_API_KEY: 'c'.repeat(32), WECHAT_APP_ID: 'wxabc' });
    expect(run).toThrow('missing: WECHAT_APP_SECRET, WECHAT_MCH_ID');
    expect(run).not.toThrow('c'.repeat(32));
  });
});

describe('MerchantRegistry', () => {
  it('binds each AppID to its own merchant number only', () => {
    const registry = new MerchantRegistry([TEST_MERCHANT, OTHER]);
    expect(registry.bound(TEST_MERCHANT.appId, TEST_MERCHANT.mchId)).toEqual(TEST_MERCHANT);
    expect(registry.bound(OTHER.appId, TEST_MERCHANT.mchId)).toBeUndefined();
    expect(registry.hasMchId(OTHER.mchId)).toBe(true);
    expect(registry.hasMchId('1')).toBe(false);
    expect(registry.primary).toEqual(TEST_MERCHANT);
  });

  it('refuses a short API key, a duplicated AppID and two keys for one merchant number', () => {
    expect(() => new MerchantRegistry([{ ...OTHER, apiKey: 'short' }])).toThrow(
      'apiKey must be exactly 32 characters',
    );
    expect(() => new MerchantRegistry([OTHER, OTHER])).toThrow('configured twice');
    expect(
      () => new MerchantRegistry([OTHER, { ...OTHER, appId: 'wx9', apiKey: 'd'.repeat(32) }]),
    ).toThrow('second API key');
    expect(() => new MerchantRegistry([])).toThrow('at least one merchant');
  });
});
