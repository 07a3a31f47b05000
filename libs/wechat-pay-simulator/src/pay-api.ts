import { isIP } from 'node:net';
import {
  createNonce,
  sign,
  verify,
  type SignType,
  parseBeijingTime,
  WechatPayXmlError,
  buildXml,
  parseXml,
} from 'nestjs-wechat-pay-v2/protocol';
import type { SimulatorClock } from './clock';
import type { FaultInjector } from './faults';
import type { MerchantRegistry, SimulatorMerchant } from './merchants';
import type { SimulatorRealism } from './realism';
import { sameOrderParameters } from './reentry';
import { MAX_REFUNDS_PER_ORDER, RefundDesk } from './refunds';
import {
  spacedTime,
  tradeStateOf,
  type SimulatedOrder,
  type SimulatedRefund,
  type SimulatedTradeState,
  type SimulatorStore,
} from './store';
import { COMPACT, renderXml, type WireLayout } from './wire';

export const PAY_PATHS = [
  '/pay/unifiedorder',
  '/pay/orderquery',
  '/pay/closeorder',
  '/secapi/pay/refund',
  '/pay/refundquery',
] as const;
export type PayPath = (typeof PAY_PATHS)[number];

/** The answer to a call the simulator accepts and then never answers (refundNoAnswerNext). */
export const NO_ANSWER = Symbol('no answer');
export type PayAnswer = string | typeof NO_ANSWER;

/** What the TLS listener knows about the caller of a /secapi path. */
export interface CallerCertificate {
  /** The merchant number in the client certificate's common name. */
  mchId: string;
}

/** The `return_msg` of each envelope failure (return_code=FAIL, unsigned), as real answers word them. */
export const RETURN_MSG = {
  notPost: '请使用post方法',
  emptyBody: 'post数据为空',
  tooLarge: 'post数据过大',
  notUtf8: '编码格式有误，请使用UTF-8编码',
  badXml: 'XML格式错误',
  missing: '缺少参数',
  badSignature: '签名错误',
  unknownMchId: '商户号mch_id或sub_mch_id不存在',
  unknownAppId: 'appid不存在',
  notBound: '商户号mch_id与appid不匹配',
  badSpbillIp: 'invalid spbill_create_ip',
  jsapiOpenid: 'JSAPI支付必须传openid',
  productNotEnabled: '商户号该产品权限未开通，请前往商户平台>产品中心检查后重试',
  tooLong: (field: string) => `${field}参数长度有误`,
  badFormat: (field: string) => `${field}参数格式错误`,
  invalidAmount: (field: string) => `invalid ${field}`,
} as const;

/** The simulator's earlier texts, used when the `capturedTexts` realism item is off. */
export const PLAIN_RETURN_MSG = {
  unknownMchId: '商户号mch_id不存在',
  unknownAppId: 'appid和mch_id不匹配',
  notBound: 'appid和mch_id不匹配',
  badSpbillIp: 'spbill_create_ip参数格式错误',
} as const;

/** Business failures (result_code=FAIL, signed): err_code and err_code_des. */
export const BUSINESS_ERRORS = {
  duplicate: ['INVALID_REQUEST', '201 商户订单号重复'],
  paid: ['ORDERPAID', '该订单已支付'],
  closed: ['ORDERCLOSED', '订单已关闭'],
  notExist: ['ORDERNOTEXIST', '订单不存在'],
  queryNotExist: ['ORDERNOTEXIST', '此交易订单号不存在'],
  systemError: ['SYSTEMERROR', '系统错误，请稍后重试'],
  badTotalFee: ['PARAM_ERROR', 'total_fee必须是大于0的整数，单位为分'],
  timeExpireTooShort: ['PARAM_ERROR', 'time_expire时间过短，刷卡至少1分钟，其他5分钟'],
} as const satisfies Record<string, readonly [string, string]>;

/**
 * Refund business failures (result_code=FAIL, signed). The texts of ORDERNOTEXIST, ERROR,
 * REFUND_FEE_MISMATCH, INVALID_REQUEST (beyond what remains) and SYSTEMERROR are those of
 * published real answers; the rest are the simulator's wording of the documented rules.
 */
export const REFUND_ERRORS = {
  orderNotExist: ['ORDERNOTEXIST', '订单不存在'],
  fullyRefunded: ['ERROR', '订单已全额退款'],
  beyondRemaining: ['INVALID_REQUEST', 'refund_fee大于可退金额'],
  feeMismatch: ['REFUND_FEE_MISMATCH', '订单金额或退款金额与之前请求不一致,请核实后再试'],
  tooManyRefunds: ['INVALID_REQUEST', '该订单退款次数已达上限，每笔订单最多退款50次'],
  otherOrder: ['INVALID_REQUEST', '商户退款单号已用于其他订单'],
  tooSoon: ['FREQUENCY_LIMITED', '同一笔订单的两次退款请求间隔过短，请稍后再试'],
  certificate: ['CERT_ERROR', '证书校验错误'],
  systemError: ['SYSTEMERROR', 'System Error'],
  refundNotExist: ['REFUNDNOTEXIST', 'not exist'],
} as const satisfies Record<string, readonly [string, string]>;

export type Texts = Record<keyof typeof PLAIN_RETURN_MSG, string> & {
  queryNotExist: readonly [string, string];
};

export function textsFor(realism: SimulatorRealism): Texts {
  return realism.capturedTexts
    ? { ...RETURN_MSG, queryNotExist: BUSINESS_ERRORS.queryNotExist }
    : { ...PLAIN_RETURN_MSG, queryNotExist: BUSINESS_ERRORS.notExist };
}

const TIME_EXPIRE_MIN_MS = 5 * 60 * 1000;

type FieldCheck = (value: string) => boolean;

interface FieldRule {
  max: number;
  min?: number;
  required?: boolean;
  valid?: FieldCheck;
  /** The return_msg when `valid` fails, if WeChat words it otherwise than `<field>参数格式错误`. */
  invalid?: (texts: Texts) => string;
}

const pattern =
  (re: RegExp): FieldCheck =>
  (value) =>
    re.test(value);
const beijingTime: FieldCheck = (value) => parseBeijingTime(value) !== undefined;
const ORDER_NO = pattern(/^[0-9A-Za-z_\-|*]+$/);
/** out_refund_no: letters, digits and `_ - | * @` (§9.1). */
const REFUND_NO = pattern(/^[0-9A-Za-z_\-|*@]+$/);
const DIGITS = pattern(/^\d+$/);
const NOTIFY_URL = pattern(/^https?:\/\/[^\s?#]+$/);

const COMMON: Record<string, FieldRule> = {
  appid: { max: 32, required: true },
  mch_id: { max: 32, required: true, valid: pattern(/^\d+$/) },
  nonce_str: { max: 32, required: true },
  sign: { max: 64 },
  sign_type: { max: 32, valid: pattern(/^(MD5|HMAC-SHA256)$/) },
};

/** Field rules of each API (§4.1, §7, §8). `sign` is checked with the signature, not as "missing". */
const RULES: Record<PayPath, Record<string, FieldRule>> = {
  '/pay/unifiedorder': {
    ...COMMON,
    device_info: { max: 32 },
    body: { max: 127, required: true },
    detail: { max: 6000 },
    attach: { max: 127 },
    out_trade_no: { max: 32, min: 6, required: true, valid: ORDER_NO },
    fee_type: { max: 16, valid: pattern(/^CNY$/) },
    total_fee: { max: 16, required: true },
    spbill_create_ip: {
      max: 64,
      required: true,
      valid: (v) => isIP(v) !== 0,
      invalid: (texts) => texts.badSpbillIp,
    },
    time_start: { max: 14, valid: beijingTime },
    time_expire: { max: 14, valid: beijingTime },
    goods_tag: { max: 32 },
    notify_url: { max: 256, required: true, valid: NOTIFY_URL },
    trade_type: { max: 16, required: true, valid: pattern(/^(JSAPI|NATIVE|APP|MWEB)$/) },
    product_id: { max: 32 },
    limit_pay: { max: 32, valid: pattern(/^no_credit$/) },
    openid: { max: 128 },
    receipt: { max: 8 },
    profit_sharing: { max: 16, valid: pattern(/^[YN]$/) },
    scene_info: { max: 256 },
  },
  '/pay/orderquery': {
    ...COMMON,
    transaction_id: { max: 32, valid: pattern(/^\d+$/) },
    out_trade_no: { max: 32, valid: ORDER_NO },
  },
  '/pay/closeorder': {
    ...COMMON,
    out_trade_no: { max: 32, required: true, valid: ORDER_NO },
  },
  '/secapi/pay/refund': {
    ...COMMON,
    device_info: { max: 32 },
    transaction_id: { max: 32, valid: DIGITS },
    out_trade_no: { max: 32, valid: ORDER_NO },
    out_refund_no: { max: 64, required: true, valid: REFUND_NO },
    total_fee: { max: 16, required: true },
    refund_fee: { max: 16, required: true },
    refund_fee_type: { max: 8, valid: pattern(/^CNY$/) },
    refund_desc: { max: 80 },
    refund_account: {
      max: 30,
      valid: pattern(/^REFUND_SOURCE_(UNSETTLED|RECHARGE)_FUNDS$/),
    },
    notify_url: { max: 256, valid: NOTIFY_URL },
    op_user_id: { max: 32 },
  },
  '/pay/refundquery': {
    ...COMMON,
    device_info: { max: 32 },
    refund_id: { max: 32, valid: DIGITS },
    out_refund_no: { max: 64, valid: REFUND_NO },
    transaction_id: { max: 32, valid: DIGITS },
    out_trade_no: { max: 32, valid: ORDER_NO },
    offset: { max: 10, valid: DIGITS },
  },
};

/** The ids of which each API needs at least one. */
const ONE_OF: Partial<Record<PayPath, readonly string[]>> = {
  '/pay/orderquery': ['transaction_id', 'out_trade_no'],
  '/secapi/pay/refund': ['transaction_id', 'out_trade_no'],
  '/pay/refundquery': ['refund_id', 'out_refund_no', 'transaction_id', 'out_trade_no'],
};

/** Characters, not UTF-16 units or bytes: a Chinese body of 127 characters is accepted. */
const length = (value: string) => [...value].length;

/** The first envelope problem of a request's fields, in the order a client would fix them. */
export function envelopeProblem(
  path: PayPath,
  params: Readonly<Record<string, string>>,
  texts: Texts,
): string | undefined {
  const rules = Object.entries(RULES[path]);
  const given = (name: string) => (params[name] ?? '') !== '';
  if (rules.some(([name, rule]) => rule.required && !given(name))) return RETURN_MSG.missing;
  for (const [name, rule] of rules) {
    if (!given(name)) continue;
    const chars = length(params[name]);
    if (chars > rule.max || chars < (rule.min ?? 0)) return RETURN_MSG.tooLong(name);
  }
  for (const [name, rule] of rules) {
    if (given(name) && rule.valid && !rule.valid(params[name])) {
      return rule.invalid ? rule.invalid(texts) : RETURN_MSG.badFormat(name);
    }
  }
  const ids = ONE_OF[path];
  if (ids && !ids.some(given)) return RETURN_MSG.missing;
  return undefined;
}

export interface PayApiSettings {
  closeOrderMinAgeMs: number;
  maxBodyBytes: number;
  realism: Readonly<SimulatorRealism>;
  /** A new refund of an order this soon after its previous one answers FREQUENCY_LIMITED; 0: off. */
  refundMinIntervalMs: number;
}

/** A positive whole number of fen written as digits, or undefined. */
function fen(text: string): number | undefined {
  const value = Number(text);
  return /^[1-9]\d*$/.test(text) && Number.isSafeInteger(value) ? value : undefined;
}

/** refundquery lists at most this many refunds without `offset`, and this many per page with it. */
export const REFUNDQUERY_LIMIT = 20;
export const REFUNDQUERY_PAGE = 10;

interface CallContext {
  merchant: Readonly<SimulatorMerchant>;
  signType: SignType;
  deviceInfo?: string;
}

type Fields = Record<string, string | number | undefined>;

/** The three WeChat Pay XML APIs: envelope checks, then the business rules of each. */
export class PayApi {
  private readonly texts: Texts;
  /** orderquery answers are laid out like captured ones: one element per line. */
  private readonly queryLayout: WireLayout;

  constructor(
    private readonly merchants: MerchantRegistry,
    private readonly store: SimulatorStore,
    private readonly clock: SimulatorClock,
    private readonly faults: FaultInjector,
    private readonly desk: RefundDesk,
    private readonly settings: PayApiSettings,
  ) {
    this.texts = textsFor(settings.realism);
    this.queryLayout = { newlines: settings.realism.newlines, cdataIntegers: false };
  }

  static fail(returnMsg: string): string {
    return buildXml({ return_code: 'FAIL', return_msg: returnMsg });
  }

  /**
   * Answers one call. `caller` is the client certificate of a /secapi call, which only the TLS
   * listener routes here (after turning away calls without a valid certificate).
   */
  async handle(path: PayPath, body: Buffer, caller?: CallerCertificate): Promise<PayAnswer> {
    let params: Record<string, string>;
    try {
      params = await parseXml(body, { maxBytes: this.settings.maxBodyBytes });
    } catch (err) {
      const reason = err instanceof WechatPayXmlError ? err.reason : undefined;
      if (reason === 'EMPTY') return PayApi.fail(RETURN_MSG.emptyBody);
      if (reason === 'NOT_UTF8') return PayApi.fail(RETURN_MSG.notUtf8);
      if (reason === 'TOO_LARGE') return PayApi.fail(RETURN_MSG.tooLarge);
      return PayApi.fail(RETURN_MSG.badXml);
    }
    const problem = envelopeProblem(path, params, this.texts);
    if (problem) return PayApi.fail(problem);

    const merchant = this.merchants.bound(params.appid, params.mch_id);
    if (!merchant) {
      if (!this.merchants.hasMchId(params.mch_id)) return PayApi.fail(this.texts.unknownMchId);
      if (!this.merchants.byAppId(params.appid)) return PayApi.fail(this.texts.unknownAppId);
      return PayApi.fail(this.texts.notBound);
    }
    const signType: SignType = params.sign_type === 'HMAC-SHA256' ? 'HMAC-SHA256' : 'MD5';
    if (!verify(params, merchant.apiKey, { fallback: 'MD5', expected: signType })) {
      return PayApi.fail(RETURN_MSG.badSignature);
    }
    const ctx: CallContext = { merchant, signType, deviceInfo: params.device_info || undefined };
    if (path === '/pay/unifiedorder') {
      if (params.trade_type !== 'JSAPI') return PayApi.fail(RETURN_MSG.productNotEnabled);
      if (!params.openid) return PayApi.fail(RETURN_MSG.jsapiOpenid);
    }
    if (path === '/secapi/pay/refund') {
      const total = fen(params.total_fee);
      const refund = fen(params.refund_fee);
      if (total === undefined) return PayApi.fail(RETURN_MSG.invalidAmount('total_fee'));
      if (refund === undefined || refund > total) {
        return PayApi.fail(RETURN_MSG.invalidAmount('refund_fee'));
      }
      // The certificate belongs to another merchant number than the request's.
      if (caller?.mchId !== merchant.mchId) {
        return this.businessFailure(ctx, REFUND_ERRORS.certificate);
      }
    }
    const refundPath = path === '/secapi/pay/refund' || path === '/pay/refundquery';
    if (this.faults.takeSystemError(path)) {
      const captured = refundPath && this.settings.realism.capturedTexts;
      return this.businessFailure(
        ctx,
        captured ? REFUND_ERRORS.systemError : BUSINESS_ERRORS.systemError,
      );
    }
    const scripted = this.faults.takeBusinessError(path);
    if (scripted) return this.businessFailure(ctx, scripted);

    switch (path) {
      case '/pay/unifiedorder':
        return this.unifiedOrder(ctx, params);
      case '/pay/orderquery':
        return this.orderQuery(ctx, params);
      case '/pay/closeorder':
        return this.closeOrder(ctx, params);
      case '/secapi/pay/refund':
        return this.refund(ctx, params);
      case '/pay/refundquery':
        return this.refundQuery(ctx, params);
    }
  }

  /** The order a refund or refundquery names: transaction_id wins over out_trade_no. */
  private namedOrder(mchId: string, params: Record<string, string>): SimulatedOrder | undefined {
    return params.transaction_id
      ? this.store.findByTransactionId(mchId, params.transaction_id)
      : this.store.findOrder(mchId, params.out_trade_no);
  }

  /** §9.1: paid orders only; one number is one refund; the refunds never exceed the order. */
  private refund(ctx: CallContext, params: Record<string, string>): PayAnswer {
    const order = this.namedOrder(ctx.merchant.mchId, params);
    if (!order || order.state !== 'SUCCESS') {
      return this.businessFailure(ctx, REFUND_ERRORS.orderNotExist);
    }
    const totalFee = Number(params.total_fee);
    const refundFee = Number(params.refund_fee);
    const existing = this.store.findRefundByNo(ctx.merchant.mchId, params.out_refund_no);
    if (existing) {
      if (existing.order !== order) return this.businessFailure(ctx, REFUND_ERRORS.otherOrder);
      if (existing.totalFee !== totalFee || existing.refundFee !== refundFee) {
        return this.businessFailure(ctx, REFUND_ERRORS.feeMismatch);
      }
      return this.success(ctx, refundFields(existing, this.settings.realism), this.queryLayout);
    }
    if (totalFee !== order.totalFee) return this.businessFailure(ctx, REFUND_ERRORS.feeMismatch);
    const remaining = RefundDesk.remaining(order);
    if (remaining === 0) return this.businessFailure(ctx, REFUND_ERRORS.fullyRefunded);
    if (order.refunds.length >= MAX_REFUNDS_PER_ORDER) {
      return this.businessFailure(ctx, REFUND_ERRORS.tooManyRefunds);
    }
    if (refundFee > remaining) return this.businessFailure(ctx, REFUND_ERRORS.beyondRemaining);
    const previous = order.refunds[order.refunds.length - 1];
    const gap = this.settings.refundMinIntervalMs;
    if (gap > 0 && previous && this.clock.now() - previous.createdAt < gap) {
      return this.businessFailure(ctx, REFUND_ERRORS.tooSoon);
    }
    const merchant = this.merchants.bound(order.appId, order.mchId);
    const refund = this.desk.accept(order, {
      outRefundNo: params.out_refund_no,
      totalFee,
      refundFee,
      refundDesc: params.refund_desc ?? '',
      refundAccount: params.refund_account || 'REFUND_SOURCE_UNSETTLED_FUNDS',
      notifyUrl: params.notify_url || merchant?.refundNotifyUrl || '',
      signType: ctx.signType,
    });
    if (this.faults.takeRefundNoAnswer()) return NO_ANSWER;
    if (this.faults.takeRefundAcceptedSystemError()) {
      return this.businessFailure(ctx, REFUND_ERRORS.systemError);
    }
    return this.success(ctx, refundFields(refund, this.settings.realism), this.queryLayout);
  }

  /**
   * §9.2: by refund_id, else out_refund_no (that refund alone), else transaction_id, else
   * out_trade_no (the order's refunds: at most 20, or 10 from `offset` with total_refund_count).
   */
  private refundQuery(ctx: CallContext, params: Record<string, string>): string {
    const mchId = ctx.merchant.mchId;
    let refunds: SimulatedRefund[];
    if (params.refund_id || params.out_refund_no) {
      const refund = params.refund_id
        ? this.store.findRefundById(mchId, params.refund_id)
        : this.store.findRefundByNo(mchId, params.out_refund_no);
      refunds = refund ? [refund] : [];
    } else {
      refunds = this.namedOrder(mchId, params)?.refunds ?? [];
    }
    const offset = params.offset ? Number(params.offset) : undefined;
    const page =
      offset === undefined
        ? refunds.slice(0, REFUNDQUERY_LIMIT)
        : refunds.slice(offset, offset + REFUNDQUERY_PAGE);
    if (page.length === 0) return this.businessFailure(ctx, REFUND_ERRORS.refundNotExist);
    return this.success(
      ctx,
      refundQueryFields(
        page,
        offset === undefined ? undefined : refunds.length,
        this.settings.realism,
      ),
      this.queryLayout,
    );
  }

  private unifiedOrder(ctx: CallContext, params: Record<string, string>): string {
    const existing = this.store.findOrder(ctx.merchant.mchId, params.out_trade_no);
    if (existing) {
      if (existing.state === 'SUCCESS') return this.businessFailure(ctx, BUSINESS_ERRORS.paid);
      if (existing.state === 'CLOSED') return this.businessFailure(ctx, BUSINESS_ERRORS.closed);
      if (!sameOrderParameters(existing.params, params)) {
        return this.businessFailure(ctx, BUSINESS_ERRORS.duplicate);
      }
      existing.signType = ctx.signType;
      existing.requestNonce = params.nonce_str;
      const prepay = this.store.livePrepay(existing);
      return this.success(ctx, { trade_type: existing.tradeType, prepay_id: prepay.id });
    }

    const totalFee = Number(params.total_fee);
    if (!/^[1-9]\d*$/.test(params.total_fee) || !Number.isSafeInteger(totalFee)) {
      return this.businessFailure(ctx, BUSINESS_ERRORS.badTotalFee);
    }
    let expiresAt: number | undefined;
    if (params.time_expire) {
      expiresAt = (parseBeijingTime(params.time_expire) as Date).getTime();
      const start = params.time_start ? (parseBeijingTime(params.time_start) as Date).getTime() : 0;
      if (expiresAt < Math.max(this.clock.now(), start) + TIME_EXPIRE_MIN_MS) {
        return this.businessFailure(ctx, BUSINESS_ERRORS.timeExpireTooShort);
      }
    }
    const order = this.store.createOrder({
      appId: ctx.merchant.appId,
      mchId: ctx.merchant.mchId,
      outTradeNo: params.out_trade_no,
      params: { ...params },
      totalFee,
      body: params.body,
      attach: params.attach ?? '',
      deviceInfo: params.device_info ?? '',
      openid: params.openid,
      tradeType: params.trade_type,
      feeType: params.fee_type || 'CNY',
      notifyUrl: params.notify_url,
      signType: ctx.signType,
      requestNonce: params.nonce_str,
      expiresAt,
    });
    return this.success(ctx, { trade_type: order.tradeType, prepay_id: order.prepay.id });
  }

  private orderQuery(ctx: CallContext, params: Record<string, string>): string {
    const mchId = ctx.merchant.mchId;
    const order = params.transaction_id
      ? this.store.findByTransactionId(mchId, params.transaction_id)
      : this.store.findOrder(mchId, params.out_trade_no);
    if (!order) return this.businessFailure(ctx, this.texts.queryNotExist);
    return this.success(
      ctx,
      queryFields(order, this.settings.realism.extensionFields),
      this.queryLayout,
    );
  }

  private closeOrder(ctx: CallContext, params: Record<string, string>): string {
    const order = this.store.findOrder(ctx.merchant.mchId, params.out_trade_no);
    if (!order) return this.businessFailure(ctx, BUSINESS_ERRORS.notExist);
    if (order.state === 'SUCCESS') return this.businessFailure(ctx, BUSINESS_ERRORS.paid);
    if (order.state === 'CLOSED') return this.businessFailure(ctx, BUSINESS_ERRORS.closed);
    const minAgeMs = this.settings.closeOrderMinAgeMs;
    if (this.clock.now() - order.createdAt < minAgeMs) {
      const minutes = Math.ceil(minAgeMs / 60_000);
      return this.businessFailure(ctx, [
        'SYSTEMERROR',
        `订单创建后${minutes}分钟内不能关单，请稍后重试`,
      ]);
    }
    order.state = 'CLOSED';
    order.closedAt = this.clock.now();
    order.closedBy = 'closeorder';
    return this.success(ctx, { result_msg: 'OK' });
  }

  private success(ctx: CallContext, fields: Fields, layout = COMPACT): string {
    return this.signed(ctx, { result_code: 'SUCCESS', ...fields }, layout);
  }

  private businessFailure(
    ctx: CallContext,
    [errCode, errCodeDes]: readonly [string, string],
  ): string {
    return this.signed(ctx, { result_code: 'FAIL', err_code: errCode, err_code_des: errCodeDes });
  }

  /** Signs with the request's algorithm and a fresh nonce, as the real server does. */
  private signed(ctx: CallContext, fields: Fields, layout = COMPACT): string {
    const out: Fields = {
      return_code: 'SUCCESS',
      return_msg: 'OK',
      appid: ctx.merchant.appId,
      mch_id: ctx.merchant.mchId,
      device_info: ctx.deviceInfo,
      nonce_str: createNonce(),
      ...fields,
    };
    let signature = sign(out, ctx.merchant.apiKey, ctx.signType);
    if (this.faults.takeCorruptSignature()) {
      signature = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    }
    return renderXml({ ...out, sign: signature }, layout);
  }
}

const TRADE_STATE_DESC: Record<SimulatedTradeState, string> = {
  NOTPAY: '订单未支付',
  SUCCESS: '支付成功',
  REFUND: '订单发生过退款，退款详情请查询退款单',
  CLOSED: '订单已关闭',
  PAYERROR: '支付失败，请重新下单支付',
};

/**
 * The amount fields of a paid order. A coupon pays part of `total_fee` and the user the rest
 * (`cash_fee`); a coupon that is not pre-funded (NO_CASH) also lowers `settlement_total_fee`.
 */
export function paymentAmountFields(order: SimulatedOrder, extensionFields: boolean): Fields {
  const fields: Fields = { total_fee: order.totalFee, cash_fee: order.cashFee };
  if (!extensionFields) return fields;
  fields.cash_fee_type = order.feeType;
  const coupon = order.coupon;
  if (coupon) {
    fields.coupon_fee = coupon.fee;
    fields.coupon_count = 1;
    fields.coupon_type_0 = coupon.type;
    fields.coupon_id_0 = coupon.id;
    fields.coupon_fee_0 = coupon.fee;
    if (coupon.type === 'NO_CASH') fields.settlement_total_fee = order.totalFee - coupon.fee;
  }
  return fields;
}

/** orderquery's fields for each state: payer and payment fields only once paid (§7). */
export function queryFields(order: SimulatedOrder, extensionFields: boolean): Fields {
  const tradeState = tradeStateOf(order);
  const common: Fields = {
    out_trade_no: order.outTradeNo,
    trade_state: tradeState,
    trade_state_desc: TRADE_STATE_DESC[tradeState],
    total_fee: order.totalFee,
  };
  if (order.state !== 'SUCCESS') return common;
  return {
    ...common,
    openid: order.openid,
    is_subscribe: 'N',
    trade_type: order.tradeType,
    bank_type: order.bankType,
    fee_type: order.feeType,
    ...paymentAmountFields(order, extensionFields),
    cash_fee_type: order.feeType,
    transaction_id: order.transactionId,
    attach: order.attach,
    time_end: order.timeEnd,
  };
}

/** The coupon fields of one refund under the given name suffix, when the order had a coupon. */
function couponRefundFields(refund: SimulatedRefund, suffix: string, nested: string): Fields {
  const coupon = refund.order.coupon;
  if (!coupon) return {};
  return {
    [`coupon_type${nested}`]: coupon.type,
    [`coupon_refund_id${nested}`]: coupon.id,
    [`coupon_refund_fee${nested}`]: refund.couponRefundFee,
    ...(suffix === '' ? {} : { [`coupon_refund_count${suffix}`]: 1 }),
  };
}

/**
 * The refund answer (§9.1) in the shape of a published real one: an empty refund_channel,
 * coupon_refund_fee and coupon_refund_count even without a coupon; the coupon's share and the
 * settlement amounts after a coupon payment.
 */
export function refundFields(refund: SimulatedRefund, realism: Readonly<SimulatorRealism>): Fields {
  const order = refund.order;
  const noCash = realism.extensionFields && order.coupon?.type === 'NO_CASH';
  return {
    transaction_id: order.transactionId,
    out_trade_no: order.outTradeNo,
    out_refund_no: refund.outRefundNo,
    refund_id: refund.refundId,
    refund_channel: '',
    refund_fee: refund.refundFee,
    ...(noCash && { settlement_refund_fee: refund.settlementRefundFee }),
    total_fee: order.totalFee,
    ...(noCash && { settlement_total_fee: order.totalFee - (order.coupon?.fee ?? 0) }),
    cash_fee: order.cashFee,
    cash_refund_fee: refund.cashRefundFee,
    coupon_refund_fee: refund.couponRefundFee,
    coupon_refund_count: refund.couponRefundFee > 0 ? 1 : 0,
    ...(refund.couponRefundFee > 0 && couponRefundFields(refund, '', '_0')),
  };
}

/** refundquery's fields: the order's, then each refund under `_$n` (0-based), coupons as `_$n_$m`. */
export function refundQueryFields(
  refunds: readonly SimulatedRefund[],
  totalRefundCount: number | undefined,
  realism: Readonly<SimulatorRealism>,
): Fields {
  const order = refunds[0].order;
  const sum = (pick: (refund: SimulatedRefund) => number) =>
    refunds.reduce((total, refund) => total + pick(refund), 0);
  const noCash = realism.extensionFields && order.coupon?.type === 'NO_CASH';
  const fields: Fields = {
    total_refund_count: totalRefundCount,
    transaction_id: order.transactionId,
    out_trade_no: order.outTradeNo,
    total_fee: order.totalFee,
    ...(noCash && { settlement_total_fee: order.totalFee - (order.coupon?.fee ?? 0) }),
    fee_type: order.feeType,
    cash_fee: order.cashFee,
    refund_count: refunds.length,
    refund_fee: sum((r) => r.refundFee),
    coupon_refund_fee: sum((r) => r.couponRefundFee),
    cash_refund_fee: sum((r) => r.cashRefundFee),
  };
  refunds.forEach((refund, n) => {
    Object.assign(fields, {
      [`out_refund_no_${n}`]: refund.outRefundNo,
      [`refund_id_${n}`]: refund.refundId,
      [`refund_channel_${n}`]: refund.channel,
      [`refund_fee_${n}`]: refund.refundFee,
      [`settlement_refund_fee_${n}`]: refund.settlementRefundFee,
      ...(refund.couponRefundFee > 0 && {
        [`coupon_refund_fee_${n}`]: refund.couponRefundFee,
        ...couponRefundFields(refund, `_${n}`, `_${n}_0`),
      }),
      [`refund_status_${n}`]: refund.status,
      [`refund_account_${n}`]: refund.refundAccount,
      [`refund_recv_accout_${n}`]: refund.recvAccount,
      ...(refund.status === 'SUCCESS' && {
        [`refund_success_time_${n}`]: spacedTime(refund.endedAt as number),
      }),
    });
  });
  return fields;
}
