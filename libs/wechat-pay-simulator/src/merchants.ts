/** A merchant the simulator accepts: one mini-program AppID bound to one merchant number. */
export interface SimulatorMerchant {
  appId: string;
  mchId: string;
  /** The API v2 key (32 characters) that signs requests, responses, notifications and paySign. */
  apiKey: string;
  /** The mini-program AppSecret that jscode2session checks. */
  appSecret: string;
  /**
   * Where refund notifications go when a refund request has no notify_url: the URL a merchant
   * configures in the merchant platform. Without it such refunds are not notified.
   */
  refundNotifyUrl?: string;
}

/**
 * The built-in merchant used when no WECHAT_* variables are set. Test-only credentials: they are
 * printed by the standalone simulator and may appear in tests and docs.
 */
export const TEST_MERCHANT: Readonly<SimulatorMerchant> = Object.freeze({
  appId: 'wxa1b2c3d4e5f60718',
  mchId: '1900000109',
  apiKey: 'SimulatorTestKey0123456789abcdef',
  appSecret: 'simulator-test-app-secret-0001',
});

const ENV_NAMES = {
  appId: 'WECHAT_APP_ID',
  appSecret: 'WECHAT_APP_SECRET',
  mchId: 'WECHAT_MCH_ID',
  apiKey: 'WECHAT_API_KEY',
} as const;

/**
 * The merchant named by WECHAT_APP_ID, WECHAT_APP_SECRET, WECHAT_MCH_ID and WECHAT_API_KEY, or
 * TEST_MERCHANT when none of them is set. Setting only some of them is a mistake worth stopping
 * for: the error names the missing variables, never a value.
 */
export function merchantFromEnv(env: NodeJS.ProcessEnv): SimulatorMerchant {
  const entries = Object.entries(ENV_NAMES) as Array<[keyof SimulatorMerchant, string]>;
  const present = entries.filter(([, name]) => (env[name] ?? '') !== '');
  if (present.length === 0) return { ...TEST_MERCHANT };
  if (present.length < entries.length) {
    const missing = entries.filter(([, name]) => (env[name] ?? '') === '').map(([, name]) => name);
    throw new Error(
      `set all four WECHAT_* merchant variables or none; missing: ${missing.join(', ')}`,
    );
  }
  const merchant = {} as SimulatorMerchant;
  for (const [field, name] of entries) merchant[field] = env[name] as string;
  return merchant;
}

/** The configured merchants, checked once, with the look-ups the APIs need. */
export class MerchantRegistry {
  readonly all: ReadonlyArray<Readonly<SimulatorMerchant>>;

  constructor(merchants: ReadonlyArray<SimulatorMerchant>) {
    if (merchants.length === 0) throw new Error('the simulator needs at least one merchant');
    const problems: string[] = [];
    const keyByMch = new Map<string, string>();
    const seenAppIds = new Set<string>();
    merchants.forEach((m, i) => {
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(m.appId))
        problems.push(`merchants[${i}].appId must be 1-32 letters or digits`);
      if (!/^\d{1,32}$/.test(m.mchId)) problems.push(`merchants[${i}].mchId must be 1-32 digits`);
      if (typeof m.apiKey !== 'string' || m.apiKey.length !== 32) {
        problems.push(`merchants[${i}].apiKey must be exactly 32 characters`);
      }
      if (typeof m.appSecret !== 'string' || m.appSecret === '') {
        problems.push(`merchants[${i}].appSecret is required`);
      }
      if (
        m.refundNotifyUrl !== undefined &&
        (typeof m.refundNotifyUrl !== 'string' ||
          !/^https?:\/\/[^\s?#]{1,248}$/.test(m.refundNotifyUrl))
      ) {
        problems.push(
          `merchants[${i}].refundNotifyUrl must be an http(s) URL of at most 256 characters without a query`,
        );
      }
      if (seenAppIds.has(m.appId)) problems.push(`merchants[${i}].appId is configured twice`);
      seenAppIds.add(m.appId);
      const key = keyByMch.get(m.mchId);
      if (key !== undefined && key !== m.apiKey) {
        problems.push(`merchants[${i}] gives mchId ${m.mchId} a second API key`);
      }
      keyByMch.set(m.mchId, m.apiKey);
    });
    if (problems.length > 0) throw new Error(`invalid simulator merchants: ${problems.join('; ')}`);
    this.all = merchants.map((m) => Object.freeze({ ...m }));
  }

  get primary(): Readonly<SimulatorMerchant> {
    return this.all[0];
  }

  byAppId(appId: string): Readonly<SimulatorMerchant> | undefined {
    return this.all.find((m) => m.appId === appId);
  }

  hasMchId(mchId: string): boolean {
    return this.all.some((m) => m.mchId === mchId);
  }

  /** The merchant for an appid/mch_id pair, or undefined when the AppID is not bound to that number. */
  bound(appId: string, mchId: string): Readonly<SimulatorMerchant> | undefined {
    return this.all.find((m) => m.appId === appId && m.mchId === mchId);
  }
}
