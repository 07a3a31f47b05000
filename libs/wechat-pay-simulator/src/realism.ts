/**
 * How closely the wire format follows captures of real WeChat traffic. Each item is one behaviour
 * a client may trip over; `faithful` (the default) turns every one on, `plain` turns every one off
 * (the simulator's 0.1 behaviour), and a test can pin single items on top of either level.
 */
export interface SimulatorRealism {
  /**
   * Notifications of HMAC-SHA256 orders carry `sign_type=HMAC-SHA256`. Real ones usually carry no
   * `sign_type` at all, only a 64-hex `sign`, so faithful is off.
   */
  notifySignType: boolean;
  /** A notification echoes the `nonce_str` of the order's unifiedorder request instead of a fresh one. */
  echoOrderNonce: boolean;
  /**
   * Envelope `return_msg` and `err_code_des` texts as seen in real answers (`商户号mch_id与appid不匹配`,
   * `appid不存在`, `invalid spbill_create_ip`, `此交易订单号不存在`...); off: the simulator's earlier texts.
   */
  capturedTexts: boolean;
  /**
   * Fields a client may not know: `cash_fee_type` in notifications and paid orderquery answers, and
   * the coupon fields (`coupon_fee`, `coupon_count`, `coupon_type_0`, `coupon_id_0`, `coupon_fee_0`,
   * `settlement_total_fee`) for payments made with a coupon. Off: no extension fields, no coupons.
   */
  extensionFields: boolean;
  /** A newline between elements of notifications and orderquery answers. */
  newlines: boolean;
  /** Integers other than `total_fee` wrapped in CDATA in notifications (`<cash_fee><![CDATA[1]]></cash_fee>`). */
  cdataIntegers: boolean;
}

export const COMPAT_LEVELS = ['faithful', 'plain'] as const;
export type CompatLevel = (typeof COMPAT_LEVELS)[number];

export const REALISM_ITEMS = [
  'notifySignType',
  'echoOrderNonce',
  'capturedTexts',
  'extensionFields',
  'newlines',
  'cdataIntegers',
] as const satisfies ReadonlyArray<keyof SimulatorRealism>;

const FAITHFUL: Readonly<SimulatorRealism> = Object.freeze({
  notifySignType: false,
  echoOrderNonce: true,
  capturedTexts: true,
  extensionFields: true,
  newlines: true,
  cdataIntegers: true,
});

const PLAIN: Readonly<SimulatorRealism> = Object.freeze({
  notifySignType: true,
  echoOrderNonce: false,
  capturedTexts: false,
  extensionFields: false,
  newlines: false,
  cdataIntegers: false,
});

/** The items of a compat level before any per-item override. */
export function realismOf(level: CompatLevel): SimulatorRealism {
  return { ...(level === 'faithful' ? FAITHFUL : PLAIN) };
}

/** A level plus per-item overrides, checked: an unknown level or item is a configuration mistake. */
export function resolveRealism(
  level: unknown = 'faithful',
  overrides: unknown = {},
): Readonly<SimulatorRealism> {
  if (!(COMPAT_LEVELS as readonly unknown[]).includes(level)) {
    throw new RangeError(`simulator option compat must be one of ${COMPAT_LEVELS.join(', ')}`);
  }
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new RangeError('simulator option realism must be an object');
  }
  const realism = realismOf(level as CompatLevel);
  const problems: string[] = [];
  for (const [name, value] of Object.entries(overrides)) {
    if (!(REALISM_ITEMS as readonly string[]).includes(name)) {
      problems.push(`${name} is not a realism item (${REALISM_ITEMS.join(', ')})`);
    } else if (typeof value !== 'boolean') {
      problems.push(`${name} must be true or false`);
    } else {
      realism[name as keyof SimulatorRealism] = value;
    }
  }
  if (problems.length > 0) throw new RangeError(`invalid realism: ${problems.join('; ')}`);
  return Object.freeze(realism);
}
