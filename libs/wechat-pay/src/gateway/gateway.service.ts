import { Injectable, Logger } from '@nestjs/common';
import { WechatPayConfig } from '../config/wechat-pay.options';
import {
  WechatPayBusinessError,
  WechatPayProtocolError,
  WechatPayReturnError,
  WechatPaySignatureError,
  WechatPayTransportError,
  WechatPayXmlError,
} from '../errors/errors';
import { WechatPayHookRunner } from '../hooks/hooks';
import type { SignType } from '../signer/sign';
import { WechatPaySigner } from '../signer/signer.service';
import { parseFen } from '../util/money';
import { buildXml, parseXml } from '../xml/xml-codec';
import type {
  CloseOrderResult,
  OrderQueryRequest,
  OrderQueryResult,
  PaidTradeState,
  PayParams,
  RequestOptions,
  UnifiedOrderRequest,
  UnifiedOrderResult,
  UnpaidTradeState,
} from './gateway.types';
import { buildPayParams } from './pay-params';
import {
  validateOrderQueryRequest,
  validateOutTradeNo,
  validateUnifiedOrderRequest,
} from './request-validation';
import { WechatPayTransport, type TransportResponse } from './transport';
import { openBillBody } from '../bill/bill-download';
import { BillStream, parseBillStream } from '../bill/bill-parser';
import type {
  BillRow,
  BillType,
  DownloadBillRequest,
  DownloadBillResult,
  NoBill,
} from '../bill/bill.types';
import { refundNotFound, refundQueryResult, refundResult } from '../refund/refund-result';
import type {
  RefundQueryRequest,
  RefundQueryResult,
  RefundRequest,
  RefundResult,
} from '../refund/refund.types';
import {
  validateBillRequest,
  validateRefundQueryRequest,
  validateRefundRequest,
} from './request-validation';

/** A bill being downloaded: iterate `rows` once; `rows.summary` is there after the last row. */
export interface FoundBillStream {
  found: true;
  billDate: string;
  billType: BillType;
  rows: BillStream;
}

export type DownloadBillStreamResult = FoundBillStream | NoBill;

interface CallOptions extends RequestOptions {
  /** Send through the certificate agent, to secapiBaseUrl. */
  clientCertificate?: boolean;
}

type Fields = Record<string, string>;

const PAID_STATES: ReadonlySet<string> = new Set<PaidTradeState>(['SUCCESS', 'REFUND']);
const UNPAID_STATES: ReadonlySet<string> = new Set<UnpaidTradeState>([
  'NOTPAY',
  'CLOSED',
  'REVOKED',
  'USERPAYING',
  'PAYERROR',
]);

/** What a paid orderquery answer must carry for the payment to be recorded without guessing. */
const PAID_FIELDS = ['transaction_id', 'total_fee', 'cash_fee', 'time_end', 'openid'] as const;

/**
 * The WeChat Pay v2 calls a mini-program backend makes (mini-program login is WechatLoginService).
 *
 * Nothing here retries on its own. A timed-out unifiedorder may or may not have created the
 * order, and SYSTEMERROR must be retried with the very same parameters: only the caller knows
 * whether it can, so every error carries `retryable` and the caller decides.
 */
@Injectable()
export class WechatPayGateway {
  private readonly logger = new Logger(WechatPayGateway.name);

  constructor(
    private readonly config: WechatPayConfig,
    private readonly signer: WechatPaySigner,
    private readonly transport: WechatPayTransport,
    private readonly hooks: WechatPayHookRunner,
  ) {}

  async unifiedOrder(
    request: UnifiedOrderRequest,
    options: RequestOptions = {},
  ): Promise<UnifiedOrderResult> {
    const fields = validateUnifiedOrderRequest(request, { notifyUrl: this.config.notifyUrl });
    const signType = request.signType ?? this.config.signType;
    return this.call(
      '/pay/unifiedorder',
      { ...fields, trade_type: 'JSAPI' },
      signType,
      options,
      (response) => {
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
      },
    );
  }

  /**
   * The order's state at WeChat. A paid answer (`SUCCESS`, `REFUND`) always carries the
   * transaction id, both amounts, the payment time and the payer, or it is refused as a protocol
   * error: a caller never has to invent a value to record a payment.
   */
  async orderQuery(
    request: OrderQueryRequest,
    options: RequestOptions = {},
  ): Promise<OrderQueryResult> {
    const query = validateOrderQueryRequest(request);
    return this.call('/pay/orderquery', query, this.config.signType, options, ({ fields, text }) =>
      orderQueryResult(query, fields, text),
    );
  }

  /** WeChat asks for at least 5 minutes between creating an order and closing it. */
  async closeOrder(outTradeNo: string, options: RequestOptions = {}): Promise<CloseOrderResult> {
    const out_trade_no = validateOutTradeNo(outTradeNo);
    return this.call(
      '/pay/closeorder',
      { out_trade_no },
      this.config.signType,
      options,
      (response) => ({ raw: Object.freeze({ ...response.fields }) }),
    );
  }

  /**
   * Asks WeChat to refund (part of) a paid order, over the agent that presents the merchant
   * certificate. Refused before sending when no certificate is configured or a value is invalid
   * (refundFee must be 1 to totalFee fen).
   *
   * Repeating a refund with the same outRefundNo and the same amounts is safe: WeChat keys a
   * refund on out_refund_no, so a repeat is answered about the refund it already has and never
   * pays twice (other amounts under that number get REFUND_FEE_MISMATCH). That is why a refund
   * whose request was sent and then timed out is `retryable`, as are SYSTEMERROR and
   * BIZERR_NEED_RETRY: retry it with the same number, never with a new one. (unifiedorder is not
   * like that: a repeat with any different parameter is refused as a duplicate order number.)
   * ERROR (e.g. `订单已全额退款`), NOTENOUGH, ORDERNOTEXIST and REFUND_FEE_MISMATCH are final.
   *
   * Success means accepted, not paid out: the outcome arrives by refund notification or
   * refundQuery.
   */
  async refund(request: RefundRequest, options: RequestOptions = {}): Promise<RefundResult> {
    const fields = validateRefundRequest(request);
    return this.call(
      '/secapi/pay/refund',
      fields,
      this.config.signType,
      { ...options, clientCertificate: true },
      ({ fields: answer, text }) => refundResult(fields, answer, text),
    );
  }

  /**
   * The refunds of an order, or one refund, with their status (SUCCESS, PROCESSING, REFUNDCLOSE,
   * CHANGE). `REFUNDNOTEXIST` is a result (`found: false`), not an error.
   */
  async refundQuery(
    request: RefundQueryRequest,
    options: RequestOptions = {},
  ): Promise<RefundQueryResult> {
    const query = validateRefundQueryRequest(request);
    try {
      return await this.call(
        '/pay/refundquery',
        query,
        this.config.signType,
        options,
        ({ fields, text }) => refundQueryResult(query, fields, text),
      );
    } catch (error) {
      const notFound = error instanceof WechatPayBusinessError ? refundNotFound(error) : undefined;
      if (notFound !== undefined) return notFound;
      throw error;
    }
  }

  /**
   * A day's trade bill, every row in memory. For large bills use downloadBillStream, which holds
   * one row at a time. `No Bill Exist` is a result (`found: false`); `Bill Creating` (before about
   * 10:00 Beijing time the next day) is a retryable WechatPayReturnError.
   */
  async downloadBill(
    request: DownloadBillRequest,
    options: RequestOptions = {},
  ): Promise<DownloadBillResult> {
    const bill = await this.downloadBillStream(request, options);
    if (!bill.found) return bill;
    const rows: BillRow[] = [];
    for await (const row of bill.rows) rows.push(row);
    return {
      found: true,
      billDate: bill.billDate,
      billType: bill.billType,
      columns: bill.rows.columns ?? [],
      rows,
      summary: bill.rows.summary as NonNullable<typeof bill.rows.summary>,
    };
  }

  /**
   * A day's trade bill as a stream of typed rows: the body (plain or gzip) is parsed as it
   * arrives and not held, so memory stays that of a row whatever the bill's size; maxBodyBytes
   * does not apply to it, maxBillBytes does. Iterate `rows` once (`for await`); leaving the loop
   * early releases the connection. `readTimeoutMs` bounds the wait for the answer and then each
   * wait for more data while you read.
   */
  async downloadBillStream(
    request: DownloadBillRequest,
    options: RequestOptions = {},
  ): Promise<DownloadBillStreamResult> {
    const fields = validateBillRequest(request);
    const path = '/pay/downloadbill';
    const done = this.hooks.startGatewayCall(path);
    try {
      const params = this.signedParams(fields, this.config.signType);
      const readTimeoutMs = options.readTimeoutMs ?? this.config.readTimeoutMs;
      const response = await this.transport.postXmlStream(
        `${this.config.baseUrl}${path}`,
        buildXml(params),
        { readTimeoutMs },
      );
      const body = await openBillBody(response, fields, {
        maxBodyBytes: this.config.maxBodyBytes,
        idleTimeoutMs: readTimeoutMs,
        label: path,
      });
      if (body.kind === 'none') {
        response.body.destroy();
        done({ result: 'NO_BILL' });
        return body.bill;
      }
      const rows = parseBillStream(body.bytes, {
        ...(this.config.maxBillBytes !== undefined ? { maxBytes: this.config.maxBillBytes } : {}),
        onClose: ({ completed, error }) => {
          if (!completed) response.body.destroy();
          done(error !== undefined ? { error } : { result: completed ? 'SUCCESS' : 'CANCELLED' });
        },
      });
      return { found: true, billDate: fields.bill_date, billType: fields.bill_type, rows };
    } catch (error) {
      done({ error });
      throw error;
    }
  }

  /** The arguments of `wx.requestPayment`; `signType` must be the one the order was created with. */
  payParams(prepayId: string, signType: SignType = this.config.signType): PayParams {
    return buildPayParams({ appId: this.config.appId, prepayId, signType }, this.signer);
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
   * Signs and posts one request, applies the v2 envelope rules, then reads the answer with `read`;
   * the hooks see the outcome of all three, a refused answer included.
   */
  private call<T>(
    path: string,
    businessFields: Readonly<Record<string, string | number | undefined>>,
    signType: SignType,
    options: CallOptions,
    read: (response: { fields: Fields; text: string }) => T,
  ): Promise<T> {
    return this.hooks.timeGatewayCall(path, async () => {
      const params = this.signedParams(businessFields, signType);
      const base = options.clientCertificate ? this.config.secapiBaseUrl : this.config.baseUrl;
      const response = await this.transport.postXml(`${base}${path}`, buildXml(params), {
        readTimeoutMs: options.readTimeoutMs,
        clientCertificate: options.clientCertificate,
      });
      return read(await this.readEnvelope(path, response, signType));
    });
  }

  private signedParams(
    businessFields: Readonly<Record<string, string | number | undefined>>,
    signType: SignType,
  ): Record<string, string | number | undefined> {
    const params: Record<string, string | number | undefined> = {
      appid: this.config.appId,
      mch_id: this.config.mchId,
      ...businessFields,
      nonce_str: this.signer.nonce(),
      sign_type: signType,
    };
    params.sign = this.signer.sign(params, signType);
    return params;
  }

  /** HTTP status, XML, return_code, signature (with the request's algorithm), appid/mch_id, result_code. */
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

function orderQueryResult(
  query: ReturnType<typeof validateOrderQueryRequest>,
  fields: Fields,
  text: string,
): OrderQueryResult {
  const tradeState = fields.trade_state;
  if (!PAID_STATES.has(tradeState) && !UNPAID_STATES.has(tradeState)) {
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
    throw new WechatPayProtocolError('orderquery answered about a different transaction_id', text);
  }
  const outTradeNo = fields.out_trade_no || ('out_trade_no' in query ? query.out_trade_no : '');
  if (!outTradeNo) throw new WechatPayProtocolError('orderquery answer has no out_trade_no', text);
  if (!fields.appid || !fields.mch_id) {
    throw new WechatPayProtocolError('orderquery answer does not name its appid and mch_id', text);
  }
  if ('transaction_id' in query && !fields.transaction_id) {
    fields = { ...fields, transaction_id: query.transaction_id };
  }

  const common = {
    tradeStateDesc: fields.trade_state_desc ?? '',
    outTradeNo,
    appId: fields.appid,
    mchId: fields.mch_id,
    raw: Object.freeze({ ...fields }),
  };
  const optional = {
    ...(fields.attach ? { attach: fields.attach } : {}),
    ...(fields.trade_type ? { tradeType: fields.trade_type } : {}),
    ...(fields.bank_type ? { bankType: fields.bank_type } : {}),
    ...(fields.fee_type ? { feeType: fields.fee_type } : {}),
  };

  if (PAID_STATES.has(tradeState)) {
    const missing = PAID_FIELDS.find((name) => !fields[name]);
    if (missing !== undefined) {
      throw new WechatPayProtocolError(
        `orderquery answer for a paid order has no ${missing}`,
        text,
      );
    }
    return {
      tradeState: tradeState as PaidTradeState,
      ...common,
      transactionId: fields.transaction_id,
      totalFee: amount(fields, 'total_fee', text) as number,
      cashFee: amount(fields, 'cash_fee', text) as number,
      timeEnd: fields.time_end,
      openid: fields.openid,
      ...optional,
    };
  }

  const totalFee = amount(fields, 'total_fee', text);
  const cashFee = amount(fields, 'cash_fee', text);
  return {
    tradeState: tradeState as UnpaidTradeState,
    ...common,
    ...(fields.transaction_id ? { transactionId: fields.transaction_id } : {}),
    ...(totalFee !== undefined ? { totalFee } : {}),
    ...(cashFee !== undefined ? { cashFee } : {}),
    ...(fields.time_end ? { timeEnd: fields.time_end } : {}),
    ...(fields.openid ? { openid: fields.openid } : {}),
    ...optional,
  };
}

/** Integer fen (0 to MAX_FEN) from a digit string; an empty or absent field is "not reported". */
function amount(fields: Fields, name: string, rawBody: string): number | undefined {
  const value = fields[name];
  if (value === undefined || value === '') return undefined;
  const fen = parseFen(value);
  if (fen === undefined) {
    throw new WechatPayProtocolError(
      `${name} is not an integer amount of fen from 0 to MAX_FEN`,
      rawBody,
    );
  }
  return fen;
}
