import { inspect } from 'node:util';
import { Injectable, Logger } from '@nestjs/common';
import { WechatPayConfig } from '../config/wechat-pay.options';
import {
  WechatPayBusinessError,
  WechatPayLoginError,
  WechatPayProtocolError,
  WechatPayRequestError,
  WechatPayReturnError,
  WechatPaySignatureError,
  WechatPayTransportError,
  WechatPayXmlError,
} from '../errors/errors';
import type { SignType } from '../signer/sign';
import { WechatPaySigner } from '../signer/signer.service';
import { buildXml, parseXml } from '../xml/xml-codec';
import type {
  CloseOrderResult,
  Code2SessionResult,
  OrderQueryRequest,
  OrderQueryResult,
  PayParams,
  RequestOptions,
  TradeState,
  UnifiedOrderRequest,
  UnifiedOrderResult,
} from './gateway.types';
import { buildPayParams } from './pay-params';
import {
  validateJsCode,
  validateOrderQueryRequest,
  validateOutTradeNo,
  validateUnifiedOrderRequest,
} from './request-validation';
import { WechatPayTransport, type TransportResponse } from './transport';

type Fields = Record<string, string>;

const TRADE_STATES: ReadonlySet<string> = new Set<TradeState>([
  'SUCCESS',
  'REFUND',
  'NOTPAY',
  'CLOSED',
  'REVOKED',
  'USERPAYING',
  'PAYERROR',
]);

const DIGITS = /^\d+$/;
const REDACTED = '[redacted]';

/**
 * The WeChat Pay v2 calls a mini-program backend makes, plus the login exchange.
 *
 * Nothing here retries on its own. A timed-out unifiedorder may or may not have created the
 * order, a login code is single-use, and SYSTEMERROR must be retried with the very same
 * parameters: only the caller knows whether it can, so every error carries `retryable` and the
 * caller decides.
 */
@Injectable()
export class WechatPayGateway {
  private readonly logger = new Logger(WechatPayGateway.name);

  constructor(
    private readonly config: WechatPayConfig,
    private readonly signer: WechatPaySigner,
    private readonly transport: WechatPayTransport,
  ) {}

  async unifiedOrder(
    request: UnifiedOrderRequest,
    options: RequestOptions = {},
  ): Promise<UnifiedOrderResult> {
    const fields = validateUnifiedOrderRequest(request, { notifyUrl: this.config.notifyUrl });
    const signType = request.signType ?? this.config.signType;
    const response = await this.call(
      '/pay/unifiedorder',
      { ...fields, trade_type: 'JSAPI' },
      signType,
      options,
    );
    const prepayId = response.fields.prepay_id;
    if (!prepayId) {
      throw new WechatPayProtocolError('unifiedorder answer has no prepay_id', response.text);
    }
    return {
      prepayId,
      tradeType: response.fields.trade_type || 'JSAPI',
      signType,
      raw: Object.freeze({ ...response.fields }),
    };
  }

  async orderQuery(
    request: OrderQueryRequest,
    options: RequestOptions = {},
  ): Promise<OrderQueryResult> {
    const query = validateOrderQueryRequest(request);
    const response = await this.call('/pay/orderquery', query, this.config.signType, options);
    const { fields, text } = response;

    const tradeState = fields.trade_state;
    if (!TRADE_STATES.has(tradeState)) {
      throw new WechatPayProtocolError('orderquery answer has no known trade_state', text);
    }
    // An answer about another order than the one asked for must never be acted upon.
    if (
      'out_trade_no' in query &&
      fields.out_trade_no &&
      fields.out_trade_no !== query.out_trade_no
    ) {
      throw new WechatPayProtocolError('orderquery answered about a different out_trade_no', text);
    }
    if (
      'transaction_id' in query &&
      fields.transaction_id &&
      fields.transaction_id !== query.transaction_id
    ) {
      throw new WechatPayProtocolError(
        'orderquery answered about a different transaction_id',
        text,
      );
    }
    const outTradeNo = fields.out_trade_no || ('out_trade_no' in query ? query.out_trade_no : '');
    if (!outTradeNo) {
      throw new WechatPayProtocolError('orderquery answer has no out_trade_no', text);
    }

    const result: OrderQueryResult = {
      tradeState: tradeState as TradeState,
      tradeStateDesc: fields.trade_state_desc ?? '',
      outTradeNo,
      raw: Object.freeze({ ...fields }),
    };
    const transactionId =
      fields.transaction_id || ('transaction_id' in query ? query.transaction_id : '');
    if (transactionId) result.transactionId = transactionId;
    const totalFee = amount(fields, 'total_fee', text);
    if (totalFee !== undefined) result.totalFee = totalFee;
    const cashFee = amount(fields, 'cash_fee', text);
    if (cashFee !== undefined) result.cashFee = cashFee;
    if (fields.openid) result.openid = fields.openid;
    if (fields.trade_type) result.tradeType = fields.trade_type;
    if (fields.bank_type) result.bankType = fields.bank_type;
    if (fields.time_end) result.timeEnd = fields.time_end;
    if (fields.attach) result.attach = fields.attach;
    return result;
  }

  /** WeChat asks for at least 5 minutes between creating an order and closing it. */
  async closeOrder(outTradeNo: string, options: RequestOptions = {}): Promise<CloseOrderResult> {
    const out_trade_no = validateOutTradeNo(outTradeNo);
    const response = await this.call(
      '/pay/closeorder',
      { out_trade_no },
      this.config.signType,
      options,
    );
    return { raw: Object.freeze({ ...response.fields }) };
  }

  /** The arguments of `wx.requestPayment`; `signType` must be the one the order was created with. */
  payParams(prepayId: string, signType: SignType = this.config.signType): PayParams {
    return buildPayParams({
      appId: this.config.appId,
      prepayId,
      apiKey: this.config.apiKey,
      signType,
    });
  }

  /** unifiedorder, then the pay parameters signed with the order's own algorithm. */
  async createJsapiPayment(
    request: UnifiedOrderRequest,
    options: RequestOptions = {},
  ): Promise<{ order: UnifiedOrderResult; payParams: PayParams }> {
    const order = await this.unifiedOrder(request, options);
    return { order, payParams: this.payParams(order.prepayId, order.signType) };
  }

  /**
   * Exchanges a wx.login() code for the payer's openid and session key. Never retried, and every
   * failure is reported as not retryable: the code is single-use and may already be spent, so
   * the mini-program has to call wx.login again.
   */
  async code2Session(jsCode: string): Promise<Code2SessionResult> {
    const code = validateJsCode(jsCode);
    const secret = this.config.appSecret;
    if (!secret) {
      throw new WechatPayRequestError('appSecret', 'is not configured; jscode2session needs it');
    }
    const url =
      `${this.config.apiBaseUrl}/sns/jscode2session` +
      `?appid=${encodeURIComponent(this.config.appId)}` +
      `&secret=${encodeURIComponent(secret)}` +
      `&js_code=${encodeURIComponent(code)}` +
      '&grant_type=authorization_code';

    let response: TransportResponse;
    try {
      response = await this.transport.get(url);
    } catch (error) {
      throw error instanceof WechatPayTransportError ? notRetryable(error) : error;
    }
    const text = response.body.toString('utf8');
    if (response.status !== 200) {
      throw new WechatPayTransportError(
        'HTTP_STATUS',
        `jscode2session answered HTTP ${response.status}`,
        {
          retryable: false,
          status: response.status,
          rawBody: redactSessionKeyText(text),
        },
      );
    }

    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new WechatPayProtocolError(
        'jscode2session answer is not JSON',
        redactSessionKeyText(text),
      );
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new WechatPayProtocolError(
        'jscode2session answer is not a JSON object',
        redactSessionKeyText(text),
      );
    }
    const answer = body as Record<string, unknown>;
    const safeRaw = JSON.stringify(
      'session_key' in answer ? { ...answer, session_key: REDACTED } : answer,
    );
    const { errcode, errmsg, openid, session_key: sessionKey, unionid } = answer;
    this.logger.debug(
      `jscode2session answered errcode ${typeof errcode === 'number' ? errcode : 0}`,
    );

    if (errcode !== undefined && errcode !== 0) {
      if (typeof errcode !== 'number' || !Number.isInteger(errcode)) {
        throw new WechatPayProtocolError('jscode2session errcode is not an integer', safeRaw);
      }
      throw new WechatPayLoginError(errcode, typeof errmsg === 'string' ? errmsg : '', safeRaw);
    }
    if (typeof openid !== 'string' || openid === '') {
      throw new WechatPayProtocolError('jscode2session answer has no openid', safeRaw);
    }
    if (typeof sessionKey !== 'string' || sessionKey === '') {
      throw new WechatPayProtocolError('jscode2session answer has no session_key', safeRaw);
    }
    return sessionResult(
      openid,
      sessionKey,
      typeof unionid === 'string' && unionid ? unionid : undefined,
    );
  }

  /**
   * Signs and posts one request, then applies the v2 envelope rules in order: HTTP status, XML,
   * return_code, signature (with the algorithm this request declared), appid/mch_id, result_code.
   */
  private async call(
    path: string,
    businessFields: Readonly<Record<string, string | number | undefined>>,
    signType: SignType,
    options: RequestOptions,
  ): Promise<{ fields: Fields; text: string }> {
    const params: Record<string, string | number | undefined> = {
      appid: this.config.appId,
      mch_id: this.config.mchId,
      ...businessFields,
      nonce_str: this.signer.nonce(),
      sign_type: signType,
    };
    params.sign = this.signer.sign(params, signType);
    const response = await this.transport.postXml(
      `${this.config.baseUrl}${path}`,
      buildXml(params),
      {
        readTimeoutMs: options.readTimeoutMs,
      },
    );
    return this.readEnvelope(path, response, signType);
  }

  private async readEnvelope(
    path: string,
    response: TransportResponse,
    signType: SignType,
  ): Promise<{ fields: Fields; text: string }> {
    const text = response.body.toString('utf8');
    if (response.status !== 200) {
      throw new WechatPayTransportError('HTTP_STATUS', `${path} answered HTTP ${response.status}`, {
        retryable: response.status >= 500,
        status: response.status,
        rawBody: text,
      });
    }

    let fields: Fields;
    try {
      fields = await parseXml(response.body, { maxBytes: this.config.maxBodyBytes });
    } catch (error) {
      if (error instanceof WechatPayXmlError) {
        throw new WechatPayProtocolError(
          `${path} answer is not a WeChat Pay XML document (${error.reason})`,
          text,
        );
      }
      throw error;
    }

    const returnCode = fields.return_code;
    this.logger.debug(
      `${path} answered return_code=${returnCode ?? '(none)'} result_code=${fields.result_code ?? '(none)'}`,
    );
    if (!returnCode) throw new WechatPayProtocolError(`${path} answer has no return_code`, text);
    // FAIL answers are unsigned by design: verifying them would only hide WeChat's reason.
    if (returnCode === 'FAIL') throw new WechatPayReturnError(fields.return_msg ?? '', text);
    if (returnCode !== 'SUCCESS') {
      throw new WechatPayProtocolError(`${path} answer has an unknown return_code`, text);
    }

    if (!this.signer.verify(fields, signType)) throw new WechatPaySignatureError(text);
    // A correctly signed answer for another account means crossed configuration or routing, not
    // forgery (the key matched), so it is reported as a protocol error rather than a bad signature.
    if (fields.appid && fields.appid !== this.config.appId) {
      throw new WechatPayProtocolError(`${path} answer is for another appid`, text);
    }
    if (fields.mch_id && fields.mch_id !== this.config.mchId) {
      throw new WechatPayProtocolError(`${path} answer is for another mch_id`, text);
    }

    const resultCode = fields.result_code;
    if (resultCode === 'FAIL') {
      throw new WechatPayBusinessError(fields.err_code ?? '', fields.err_code_des ?? '', text);
    }
    if (resultCode !== 'SUCCESS') {
      throw new WechatPayProtocolError(`${path} answer has no valid result_code`, text);
    }
    return { fields, text };
  }
}

/** Integer fen from a digit string; an empty or absent field is "not reported". */
function amount(fields: Fields, name: string, rawBody: string): number | undefined {
  const value = fields[name];
  if (value === undefined || value === '') return undefined;
  const parsed = DIGITS.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed)) {
    throw new WechatPayProtocolError(`${name} is not an integer amount of fen`, rawBody);
  }
  return parsed;
}

function notRetryable(error: WechatPayTransportError): WechatPayTransportError {
  return new WechatPayTransportError(error.failure, error.message, {
    retryable: false,
    status: error.status,
  });
}

/** For bodies that are not (whole) JSON objects: blank any session_key value, even a truncated one. */
function redactSessionKeyText(text: string): string {
  return text.replace(/("session_key"\s*:\s*")[^"]*/g, `$1${REDACTED}`);
}

/**
 * The session key is a non-enumerable property, so JSON, spreading and util.inspect (even with
 * showHidden, through the custom inspector) show only the openid and unionid.
 */
function sessionResult(
  openid: string,
  sessionKey: string,
  unionid: string | undefined,
): Code2SessionResult {
  const visible: Omit<Code2SessionResult, 'sessionKey'> =
    unionid === undefined ? { openid } : { openid, unionid };
  const result = { ...visible };
  Object.defineProperties(result, {
    sessionKey: { value: sessionKey, enumerable: false },
    toJSON: { value: () => ({ ...visible }), enumerable: false },
    [inspect.custom]: {
      value: () => `Code2SessionResult ${inspect({ ...visible, sessionKey: REDACTED })}`,
      enumerable: false,
    },
  });
  return Object.freeze(result as Code2SessionResult);
}
