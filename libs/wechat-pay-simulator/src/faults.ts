/** The WeChat paths a fault may be limited to. */
export const WECHAT_PATHS = [
  '/pay/unifiedorder',
  '/pay/orderquery',
  '/pay/closeorder',
  '/secapi/pay/refund',
  '/pay/refundquery',
  '/pay/downloadbill',
  '/sns/jscode2session',
] as const;
export type WechatPath = (typeof WECHAT_PATHS)[number];

/**
 * The business failures a test can script, per API, with the description WeChat gives each
 * (result_code=FAIL, signed). Most cannot arise from the simulator's own state: a merchant without
 * the product permission, a payer short of balance, an order number used elsewhere, a state the
 * server refuses to close.
 */
export const SCRIPTABLE_ERRORS = {
  '/pay/unifiedorder': {
    NOAUTH: '商户无此接口权限',
    NOTENOUGH: '余额不足',
    OUT_TRADE_NO_USED: '商户订单号重复',
    INVALID_REQUEST: '201 商户订单号重复',
    ORDERPAID: '该订单已支付',
    ORDERCLOSED: '订单已关闭',
    SYSTEMERROR: '系统错误，请稍后重试',
  },
  '/pay/orderquery': {
    ORDERNOTEXIST: '此交易订单号不存在',
    SYSTEMERROR: '系统错误，请稍后重试',
  },
  '/pay/closeorder': {
    TRADE_STATE_ERROR: '订单状态错误',
    ORDERPAID: '该订单已支付',
    ORDERCLOSED: '订单已关闭',
    ORDERNOTEXIST: '订单不存在',
    SYSTEMERROR: '系统错误，请稍后重试',
  },
  '/secapi/pay/refund': {
    SYSTEMERROR: 'System Error',
    BIZERR_NEED_RETRY: '退款业务流程错误，需要商户触发重试来解决',
    NOTENOUGH: '基本账户余额不足，请充值后重新发起',
    TRADE_OVERDUE: '订单已经超过退款期限',
    USER_ACCOUNT_ABNORMAL: '退款请求失败，用户帐号注销',
    INVALID_REQ_TOO_MUCH: '无效请求过多，请稍后再试',
    FREQUENCY_LIMITED: '频率限制，请降低频率后重试',
    NOAUTH: '商户无此接口权限',
    ORDER_NOT_READY: '订单处理中，暂时无法退款，请稍后再试',
  },
  '/pay/refundquery': {
    SYSTEMERROR: 'System Error',
    REFUNDNOTEXIST: 'not exist',
  },
} as const satisfies Record<string, Record<string, string>>;

export type ScriptablePath = keyof typeof SCRIPTABLE_ERRORS;

/** One scripted answer: the next call to `path` fails with `errCode`, and has no effect. */
export interface ScriptedBusinessError {
  path: ScriptablePath;
  errCode: string;
}

/** What a refund ends in, in place of SUCCESS after the delay; PROCESSING keeps it there. */
export const REFUND_OUTCOMES = ['SUCCESS', 'CHANGE', 'REFUNDCLOSE', 'PROCESSING'] as const;
export type RefundOutcomeFault = (typeof REFUND_OUTCOMES)[number];

/** Faults a test can switch on. Counters ("next N") count down as they fire; the rest stay until reset. */
export interface SimulatorFaults {
  /** Drop (do not send) the next N notification attempts; each dropped attempt is retried on schedule. */
  dropNotifications: number;
  /** Drop this fraction (0 to 1) of notification attempts. */
  dropNotificationRate: number;
  /** Wait this many real milliseconds before each notification send. */
  notificationDelayMs: number;
  /** Send this many concurrent copies of each notification attempt (1 = normal). */
  notificationCopies: number;
  /** Answer the next N calls with a signed SYSTEMERROR (jscode2session: errcode -1). */
  systemErrorNext: number;
  /** Answer this fraction (0 to 1) of calls with SYSTEMERROR. */
  systemErrorRate: number;
  /** Limit the SYSTEMERROR fault to these paths; empty means every WeChat path. */
  systemErrorPaths: WechatPath[];
  /** Hold every answer for this many real milliseconds (the call itself still takes effect). */
  slowResponseMs: number;
  /** Limit the slow fault to these paths; empty means every WeChat path. */
  slowPaths: WechatPath[];
  /** Corrupt the signature of the next N signed XML responses. */
  corruptSignatureNext: number;
  /**
   * Answers to script, each used once by the next call to its path (after the envelope and
   * signature checks): e.g. `[{ path: '/pay/closeorder', errCode: 'TRADE_STATE_ERROR' }]`.
   */
  businessErrors: ScriptedBusinessError[];
  /** Drop the next N refund notification sends; each dropped send is retried on schedule. */
  dropRefundNotifications: number;
  /** Drop this fraction (0 to 1) of refund notification sends. */
  dropRefundNotificationRate: number;
  /** Wait this many real milliseconds before each refund notification send. */
  refundNotificationDelayMs: number;
  /** Send this many concurrent copies of each refund notification send. */
  refundNotificationCopies: number;
  /**
   * The final status of the next accepted refunds, one entry each, in order: `CHANGE` or
   * `REFUNDCLOSE` instead of SUCCESS after the delay, `PROCESSING` to stay in progress until a
   * control finishes it.
   */
  refundOutcomes: RefundOutcomeFault[];
  /** Accept the next N refunds and never answer (the client times out; the refund exists). */
  refundNoAnswerNext: number;
  /** Accept the next N refunds but answer SYSTEMERROR (the refund exists; retry with the same number). */
  refundAcceptedSystemErrorNext: number;
}

export const NO_FAULTS: Readonly<SimulatorFaults> = Object.freeze({
  dropNotifications: 0,
  dropNotificationRate: 0,
  notificationDelayMs: 0,
  notificationCopies: 1,
  systemErrorNext: 0,
  systemErrorRate: 0,
  systemErrorPaths: [],
  slowResponseMs: 0,
  slowPaths: [],
  corruptSignatureNext: 0,
  businessErrors: [],
  dropRefundNotifications: 0,
  dropRefundNotificationRate: 0,
  refundNotificationDelayMs: 0,
  refundNotificationCopies: 1,
  refundOutcomes: [],
  refundNoAnswerNext: 0,
  refundAcceptedSystemErrorNext: 0,
});

const MAX_DELAY_MS = 10 * 60 * 1000;

type Check = (value: unknown) => boolean;
const count: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
const rate: Check = (v) => typeof v === 'number' && v >= 0 && v <= 1;
const delay: Check = (v) =>
  Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= MAX_DELAY_MS;
const copies: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= 20;
const paths: Check = (v) =>
  Array.isArray(v) && v.every((p) => (WECHAT_PATHS as readonly unknown[]).includes(p));
const scripted: Check = (v) =>
  Array.isArray(v) &&
  v.length <= 1000 &&
  v.every((entry: unknown) => {
    if (entry === null || typeof entry !== 'object') return false;
    const { path, errCode, ...rest } = entry as Record<string, unknown>;
    if (Object.keys(rest).length > 0 || typeof path !== 'string' || typeof errCode !== 'string') {
      return false;
    }
    const codes = (SCRIPTABLE_ERRORS as Record<string, Record<string, string>>)[path];
    return codes !== undefined && Object.hasOwn(codes, errCode);
  });
const outcomes: Check = (v) =>
  Array.isArray(v) &&
  v.length <= 1000 &&
  v.every((entry) => (REFUND_OUTCOMES as readonly unknown[]).includes(entry));
const scriptedExpected = `a list of { path, errCode } with ${Object.entries(SCRIPTABLE_ERRORS)
  .map(([path, codes]) => `${path}: ${Object.keys(codes).join('/')}`)
  .join('; ')}`;

const RULES: Record<keyof SimulatorFaults, { check: Check; expected: string }> = {
  dropNotifications: { check: count, expected: 'a non-negative integer' },
  dropNotificationRate: { check: rate, expected: 'a number from 0 to 1' },
  notificationDelayMs: { check: delay, expected: `an integer from 0 to ${MAX_DELAY_MS}` },
  notificationCopies: { check: copies, expected: 'an integer from 1 to 20' },
  systemErrorNext: { check: count, expected: 'a non-negative integer' },
  systemErrorRate: { check: rate, expected: 'a number from 0 to 1' },
  systemErrorPaths: { check: paths, expected: `a list of ${WECHAT_PATHS.join(', ')}` },
  slowResponseMs: { check: delay, expected: `an integer from 0 to ${MAX_DELAY_MS}` },
  slowPaths: { check: paths, expected: `a list of ${WECHAT_PATHS.join(', ')}` },
  corruptSignatureNext: { check: count, expected: 'a non-negative integer' },
  businessErrors: { check: scripted, expected: scriptedExpected },
  dropRefundNotifications: { check: count, expected: 'a non-negative integer' },
  dropRefundNotificationRate: { check: rate, expected: 'a number from 0 to 1' },
  refundNotificationDelayMs: { check: delay, expected: `an integer from 0 to ${MAX_DELAY_MS}` },
  refundNotificationCopies: { check: copies, expected: 'an integer from 1 to 20' },
  refundOutcomes: { check: outcomes, expected: `a list of ${REFUND_OUTCOMES.join(', ')}` },
  refundNoAnswerNext: { check: count, expected: 'a non-negative integer' },
  refundAcceptedSystemErrorNext: { check: count, expected: 'a non-negative integer' },
};

/** Checks a fault update from a test or the control endpoint; the error names each bad field. */
export function validateFaults(input: unknown): Partial<SimulatorFaults> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new RangeError('faults must be a JSON object');
  }
  const problems: string[] = [];
  for (const [name, value] of Object.entries(input)) {
    const rule = RULES[name as keyof SimulatorFaults] as
      (typeof RULES)[keyof SimulatorFaults] | undefined;
    if (!rule) problems.push(`${name} is not a known fault`);
    else if (!rule.check(value)) problems.push(`${name} must be ${rule.expected}`);
  }
  if (problems.length > 0) throw new RangeError(`invalid faults: ${problems.join('; ')}`);
  return input as Partial<SimulatorFaults>;
}

/**
 * Holds the active faults and decides, call by call, whether one fires. Fractions use the given
 * random source (Math.random by default): this is test fault injection, not security.
 */
export class FaultInjector {
  private faults: SimulatorFaults = FaultInjector.fresh();

  constructor(private readonly random: () => number = Math.random) {}

  private static fresh(): SimulatorFaults {
    return {
      ...NO_FAULTS,
      systemErrorPaths: [],
      slowPaths: [],
      businessErrors: [],
      refundOutcomes: [],
    };
  }

  current(): SimulatorFaults {
    return {
      ...this.faults,
      systemErrorPaths: [...this.faults.systemErrorPaths],
      slowPaths: [...this.faults.slowPaths],
      businessErrors: this.faults.businessErrors.map((entry) => ({ ...entry })),
      refundOutcomes: [...this.faults.refundOutcomes],
    };
  }

  /** Merges an update into the active faults and returns the result. */
  set(update: unknown): SimulatorFaults {
    const valid = validateFaults(update);
    this.faults = { ...this.faults, ...valid };
    if (valid.businessErrors) {
      this.faults.businessErrors = valid.businessErrors.map(({ path, errCode }) => ({
        path,
        errCode,
      }));
    }
    if (valid.refundOutcomes) this.faults.refundOutcomes = [...valid.refundOutcomes];
    return this.current();
  }

  reset(): SimulatorFaults {
    this.faults = FaultInjector.fresh();
    return this.current();
  }

  private fires(
    counter:
      | 'dropNotifications'
      | 'systemErrorNext'
      | 'corruptSignatureNext'
      | 'dropRefundNotifications'
      | 'refundNoAnswerNext'
      | 'refundAcceptedSystemErrorNext',
    fraction: number,
  ): boolean {
    if (this.faults[counter] > 0) {
      this.faults[counter] -= 1;
      return true;
    }
    return fraction > 0 && this.random() < fraction;
  }

  private static applies(limit: WechatPath[], path: string): boolean {
    return limit.length === 0 || (limit as string[]).includes(path);
  }

  takeNotificationDrop(): boolean {
    return this.fires('dropNotifications', this.faults.dropNotificationRate);
  }

  notificationDelayMs(): number {
    return this.faults.notificationDelayMs;
  }

  notificationCopies(): number {
    return this.faults.notificationCopies;
  }

  takeRefundNotificationDrop(): boolean {
    return this.fires('dropRefundNotifications', this.faults.dropRefundNotificationRate);
  }

  refundNotificationDelayMs(): number {
    return this.faults.refundNotificationDelayMs;
  }

  refundNotificationCopies(): number {
    return this.faults.refundNotificationCopies;
  }

  /** The scripted end of the next accepted refund, or SUCCESS. */
  takeRefundOutcome(): RefundOutcomeFault {
    return this.faults.refundOutcomes.shift() ?? 'SUCCESS';
  }

  takeRefundNoAnswer(): boolean {
    return this.fires('refundNoAnswerNext', 0);
  }

  takeRefundAcceptedSystemError(): boolean {
    return this.fires('refundAcceptedSystemErrorNext', 0);
  }

  takeSystemError(path: string): boolean {
    if (!FaultInjector.applies(this.faults.systemErrorPaths, path)) return false;
    return this.fires('systemErrorNext', this.faults.systemErrorRate);
  }

  slowResponseMs(path: string): number {
    return FaultInjector.applies(this.faults.slowPaths, path) ? this.faults.slowResponseMs : 0;
  }

  takeCorruptSignature(): boolean {
    return this.fires('corruptSignatureNext', 0);
  }

  /** The first scripted failure for this path, removed from the script, as err_code and text. */
  takeBusinessError(path: string): readonly [string, string] | undefined {
    const index = this.faults.businessErrors.findIndex((entry) => entry.path === path);
    if (index < 0) return undefined;
    const [{ errCode }] = this.faults.businessErrors.splice(index, 1);
    const codes = SCRIPTABLE_ERRORS[path as ScriptablePath] as Record<string, string>;
    return [errCode, codes[errCode]];
  }
}
