import { Injectable, Logger } from '@nestjs/common';
import { WechatPayConfig } from '../config/wechat-pay.options';
import {
  WechatPayDecryptionError,
  WechatPayNotifyError,
  WechatPayXmlError,
} from '../errors/errors';
import { parseBeijingDateTime } from '../util/beijing-time';
import { WechatPayHookRunner } from '../hooks/hooks';
import { resolveSignType, type SignType } from '../signer/sign';
import { WechatPaySigner } from '../signer/signer.service';
import { parseFen } from '../util/money';
import { parseXml } from '../xml/xml-codec';
import { NotifyHandlerRegistry } from './notify-handler.registry';
import { buildNotifyReply, rejectionReply } from './notify-reply';
import { describeError, shorten } from './notify.logging';
import type {
  FailedPaymentNotification,
  NotifyRejectReason,
  NotifyResult,
  PaymentNotification,
  RefundNotification,
  RefundNotificationStatus,
  RefundNotifyResult,
  VerifiedNotification,
} from './notify.types';

/** Decrypted fields a refund notification always carries and the typed event needs. */
const REFUND_REQUIRED_FIELDS = [
  'out_refund_no',
  'refund_id',
  'out_trade_no',
  'transaction_id',
  'total_fee',
  'refund_fee',
  'refund_status',
] as const;

const REFUND_STATUSES: ReadonlySet<string> = new Set<RefundNotificationStatus>([
  'SUCCESS',
  'CHANGE',
  'REFUNDCLOSE',
]);

/** Fields a paid notification always carries and the typed event needs. */
const REQUIRED_FIELDS = [
  'out_trade_no',
  'transaction_id',
  'total_fee',
  'cash_fee',
  'openid',
  'time_end',
  'trade_type',
  'bank_type',
] as const;

function xmlRejectReason(error: WechatPayXmlError): NotifyRejectReason {
  if (error.reason === 'EMPTY') return 'EMPTY_BODY';
  if (error.reason === 'TOO_LARGE') return 'BODY_TOO_LARGE';
  return 'INVALID_XML';
}

function refuse(reason: NotifyRejectReason, message: string): never {
  throw new WechatPayNotifyError(reason, message);
}

/**
 * Payment and refund notifications, in two steps a host can also call on its own:
 * - `verify(rawBody)` parses and verifies (size, XML, signature over every field received,
 *   appid, mch_id, required fields, amounts) and returns the typed notification, or throws a
 *   WechatPayNotifyError whose `reason` says exactly what was wrong;
 * - `dispatch(notification)` awaits the host's `@WechatPayNotifyHandler()` methods in order.
 * `handle(rawBody)` does both and returns the reply to send; the built-in route calls it.
 * Refund notifications have the same three: `verifyRefund`, `dispatchRefund`, `handleRefund`.
 */
@Injectable()
export class WechatPayNotifyService {
  private readonly logger = new Logger('WechatPayNotify');

  constructor(
    private readonly config: WechatPayConfig,
    private readonly signer: WechatPaySigner,
    private readonly registry: NotifyHandlerRegistry,
    private readonly hooks: WechatPayHookRunner,
  ) {}

  /**
   * Verifies one notification body: the raw bytes as received (a string only if the host already
   * decoded them). A pure function of the body and the configuration.
   */
  async verify(rawBody: Buffer | string): Promise<VerifiedNotification> {
    let fields: Record<string, string>;
    try {
      fields = await parseXml(rawBody, { maxBytes: this.config.maxBodyBytes });
    } catch (error) {
      if (!(error instanceof WechatPayXmlError)) throw error;
      return refuse(xmlRejectReason(error), `the body was refused: ${error.message}`);
    }
    // A FAIL envelope is not signed, so nothing in it can be trusted or acted on.
    if (fields.return_code !== 'SUCCESS') {
      refuse('RETURN_CODE_FAIL', 'return_code is not SUCCESS');
    }
    if (!fields.sign) refuse('MISSING_SIGNATURE', 'the notification has no sign');
    // Over the whole parsed map: fields this library does not name (coupons, sub-merchant ids,
    // later additions) are signed too, and dropping them would break genuine notifications.
    if (!this.signer.verify(fields)) refuse('BAD_SIGNATURE', 'the signature does not verify');
    if (fields.appid !== this.config.appId) {
      refuse('APPID_MISMATCH', 'appid is not the configured one');
    }
    if (fields.mch_id !== this.config.mchId) {
      refuse('MCH_ID_MISMATCH', 'mch_id is not the configured one');
    }
    // verify() succeeded, so the algorithm resolved to a known one.
    const signType = resolveSignType(fields, this.signer.defaultSignType) as SignType;
    if (!fields.result_code) refuse('MISSING_FIELD', 'result_code is missing');
    if (fields.result_code !== 'SUCCESS') {
      if (fields.result_code !== 'FAIL')
        refuse('INVALID_FIELD', 'result_code is not SUCCESS or FAIL');
      return failedNotification(fields, signType);
    }
    const missing = REQUIRED_FIELDS.find((name) => !fields[name]);
    if (missing) refuse('MISSING_FIELD', `${missing} is missing`);
    const totalFee = parseFen(fields.total_fee);
    const cashFee = parseFen(fields.cash_fee);
    if (totalFee === undefined) {
      refuse('INVALID_FIELD', 'total_fee is not a whole number of fen from 0 to MAX_FEN');
    }
    if (cashFee === undefined) {
      refuse('INVALID_FIELD', 'cash_fee is not a whole number of fen from 0 to MAX_FEN');
    }
    const event: PaymentNotification = {
      resultCode: 'SUCCESS',
      appId: fields.appid,
      mchId: fields.mch_id,
      outTradeNo: fields.out_trade_no,
      transactionId: fields.transaction_id,
      totalFee,
      cashFee,
      openid: fields.openid,
      timeEnd: fields.time_end,
      tradeType: fields.trade_type,
      bankType: fields.bank_type,
      signType,
      raw: Object.freeze({ ...fields }),
    };
    if (fields.attach) event.attach = fields.attach;
    if (fields.fee_type) event.feeType = fields.fee_type;
    // Handlers share one event; freezing it keeps one from changing what the next one sees.
    return Object.freeze(event);
  }

  /**
   * Awaits every handler in discovery order for a paid notification; a `result_code=FAIL` one
   * needs no handling. Throws a WechatPayNotifyError: NO_HANDLER when none is registered,
   * HANDLER_FAILED (the handler's error as `cause`) at the first that throws; later handlers are
   * then skipped, as the retry WeChat sends on FAIL runs them all again.
   */
  async dispatch(notification: VerifiedNotification): Promise<void> {
    if (notification.resultCode !== 'SUCCESS') return;
    await runHandlers(this.registry.handlers, notification, '@WechatPayNotifyHandler()');
  }

  /**
   * verify, then dispatch, mapped to the reply: never throws for anything the sender controls.
   * Send `result.reply` with HTTP 200 and `Content-Type: text/xml`. Reports the outcome to the
   * `onNotification` hook.
   */
  async handle(rawBody: Buffer | string): Promise<NotifyResult> {
    const result = await this.outcome(rawBody);
    this.hooks.notification({
      kind: 'payment',
      outcome: result.reason ?? (result.event ? 'HANDLED' : 'ACKNOWLEDGED'),
    });
    return result;
  }

  /**
   * Verifies one refund notification body: size and XML hazards as for payments, return_code,
   * appid and mch_id, then `req_info` decrypted with the merchant key (AES-256-ECB under the MD5
   * of the API key) and its `<root>` document read into the typed event. A body encrypted with
   * another key, or garbage, is refused as DECRYPTION_FAILED. A pure function of the body and the
   * configuration.
   */
  async verifyRefund(rawBody: Buffer | string): Promise<RefundNotification> {
    let envelope: Record<string, string>;
    try {
      envelope = await parseXml(rawBody, { maxBytes: this.config.maxBodyBytes });
    } catch (error) {
      if (!(error instanceof WechatPayXmlError)) throw error;
      return refuse(xmlRejectReason(error), `the body was refused: ${error.message}`);
    }
    if (envelope.return_code !== 'SUCCESS') {
      refuse('RETURN_CODE_FAIL', 'return_code is not SUCCESS');
    }
    if (envelope.appid !== this.config.appId) {
      refuse('APPID_MISMATCH', 'appid is not the configured one');
    }
    if (envelope.mch_id !== this.config.mchId) {
      refuse('MCH_ID_MISMATCH', 'mch_id is not the configured one');
    }
    if (!envelope.req_info) refuse('MISSING_FIELD', 'req_info is missing');
    let fields: Record<string, string>;
    try {
      const plaintext = this.signer.decryptReqInfo(envelope.req_info);
      fields = await parseXml(plaintext, { root: 'root', maxBytes: this.config.maxBodyBytes });
    } catch (error) {
      if (error instanceof WechatPayDecryptionError) {
        return refuse('DECRYPTION_FAILED', error.message);
      }
      // With another key the padding still checks out about once in 256: what comes out is noise.
      if (error instanceof WechatPayXmlError) {
        return refuse('DECRYPTION_FAILED', 'req_info did not decrypt to a <root> document');
      }
      throw error;
    }
    const missing = REFUND_REQUIRED_FIELDS.find((name) => !fields[name]);
    if (missing) refuse('MISSING_FIELD', `${missing} is missing from req_info`);
    if (!REFUND_STATUSES.has(fields.refund_status)) {
      refuse('INVALID_FIELD', 'refund_status is not SUCCESS, CHANGE or REFUNDCLOSE');
    }
    const amount = (name: string, required: boolean): number | undefined => {
      const text = fields[name];
      if (!text) return required ? refuse('MISSING_FIELD', `${name} is missing`) : undefined;
      const fen = parseFen(text);
      if (fen === undefined) {
        refuse('INVALID_FIELD', `${name} is not a whole number of fen from 0 to MAX_FEN`);
      }
      return fen;
    };
    const successTime = fields.success_time;
    if (fields.refund_status === 'SUCCESS' && !successTime) {
      refuse('MISSING_FIELD', 'success_time is missing from a SUCCESS refund');
    }
    const successAt = successTime ? parseBeijingDateTime(successTime) : undefined;
    if (successTime && successAt === undefined) {
      refuse('INVALID_FIELD', 'success_time is not a Beijing time');
    }
    const event: RefundNotification = {
      appId: envelope.appid,
      mchId: envelope.mch_id,
      refundStatus: fields.refund_status as RefundNotificationStatus,
      outRefundNo: fields.out_refund_no,
      refundId: fields.refund_id,
      outTradeNo: fields.out_trade_no,
      transactionId: fields.transaction_id,
      totalFee: amount('total_fee', true) as number,
      refundFee: amount('refund_fee', true) as number,
      raw: Object.freeze({ ...fields }),
      envelope: Object.freeze({ ...envelope }),
    };
    const settlementTotalFee = amount('settlement_total_fee', false);
    const settlementRefundFee = amount('settlement_refund_fee', false);
    if (settlementTotalFee !== undefined) event.settlementTotalFee = settlementTotalFee;
    if (settlementRefundFee !== undefined) event.settlementRefundFee = settlementRefundFee;
    if (successTime) event.successTime = successTime;
    if (successAt !== undefined) event.successAt = successAt;
    if (fields.refund_recv_accout) event.refundRecvAccount = fields.refund_recv_accout;
    if (fields.refund_account) event.refundAccount = fields.refund_account;
    if (fields.refund_request_source) event.refundRequestSource = fields.refund_request_source;
    return Object.freeze(event);
  }

  /**
   * Awaits every `@WechatPayRefundHandler()` in discovery order; throws a WechatPayNotifyError:
   * NO_HANDLER when none is registered, HANDLER_FAILED (the handler's error as `cause`) at the
   * first that throws.
   */
  async dispatchRefund(notification: RefundNotification): Promise<void> {
    await runHandlers(this.registry.refundHandlers, notification, '@WechatPayRefundHandler()');
  }

  /**
   * verifyRefund, then dispatchRefund, mapped to the reply as `handle` does for payments; reports
   * `{ kind: 'refund', outcome }` to the onNotification hook.
   */
  async handleRefund(rawBody: Buffer | string): Promise<RefundNotifyResult> {
    const result = await this.refundOutcome(rawBody);
    this.hooks.notification({ kind: 'refund', outcome: result.reason ?? 'HANDLED' });
    return result;
  }

  private async refundOutcome(rawBody: Buffer | string): Promise<RefundNotifyResult> {
    let notification: RefundNotification;
    try {
      notification = await this.verifyRefund(rawBody);
    } catch (error) {
      if (!(error instanceof WechatPayNotifyError)) throw error;
      this.logger.warn(
        `refused a refund notification: ${error.reason} (${shorten(error.message)})`,
      );
      return { accepted: false, reason: error.reason, reply: rejectionReply(error.reason) };
    }
    try {
      await this.dispatchRefund(notification);
    } catch (error) {
      if (!(error instanceof WechatPayNotifyError)) throw error;
      const refund = shorten(notification.outRefundNo);
      this.logger.error(
        error.reason === 'NO_HANDLER'
          ? `no refund handler registered; answered FAIL for out_refund_no ${refund} so WeChat re-sends it`
          : `${error.message} for out_refund_no ${refund}: ${describeError(error.cause)}`,
      );
      return {
        accepted: false,
        reason: error.reason,
        reply: rejectionReply(error.reason),
        event: notification,
      };
    }
    return { accepted: true, reply: buildNotifyReply('SUCCESS'), event: notification };
  }

  private async outcome(rawBody: Buffer | string): Promise<NotifyResult> {
    let notification: VerifiedNotification;
    try {
      notification = await this.verify(rawBody);
    } catch (error) {
      if (!(error instanceof WechatPayNotifyError)) throw error;
      this.logger.warn(`refused a notification: ${error.reason} (${shorten(error.message)})`);
      return { accepted: false, reason: error.reason, reply: rejectionReply(error.reason) };
    }
    if (notification.resultCode !== 'SUCCESS') {
      // Answering FAIL would only make WeChat re-send it for a day (the tenpay package does that,
      // its issue #36), so it is acknowledged.
      this.logger.warn(
        `acknowledged a notification with result_code=FAIL for out_trade_no ` +
          `${shorten(notification.outTradeNo ?? '(none)')}` +
          (notification.errCode ? ` (err_code ${shorten(notification.errCode)})` : '') +
          '; handlers not called',
      );
      return { accepted: true, reply: buildNotifyReply('SUCCESS') };
    }
    try {
      await this.dispatch(notification);
    } catch (error) {
      if (!(error instanceof WechatPayNotifyError)) throw error;
      const order = shorten(notification.outTradeNo);
      this.logger.error(
        error.reason === 'NO_HANDLER'
          ? `no notify handler registered; answered FAIL for out_trade_no ${order} so WeChat re-sends it`
          : `${error.message} for out_trade_no ${order}: ${describeError(error.cause)}`,
      );
      return {
        accepted: false,
        reason: error.reason,
        reply: rejectionReply(error.reason),
        event: notification,
      };
    }
    return { accepted: true, reply: buildNotifyReply('SUCCESS'), event: notification };
  }
}

function failedNotification(
  fields: Record<string, string>,
  signType: SignType,
): FailedPaymentNotification {
  const notification: FailedPaymentNotification = {
    resultCode: 'FAIL',
    appId: fields.appid,
    mchId: fields.mch_id,
    signType,
    raw: Object.freeze({ ...fields }),
  };
  if (fields.out_trade_no) notification.outTradeNo = fields.out_trade_no;
  if (fields.err_code) notification.errCode = fields.err_code;
  if (fields.err_code_des) notification.errCodeDes = fields.err_code_des;
  return Object.freeze(notification);
}

/**
 * Awaits each handler in order; NO_HANDLER when there is none, HANDLER_FAILED (the handler's error
 * as `cause`) at the first that throws, skipping the rest.
 */
async function runHandlers<T>(
  handlers: ReadonlyArray<{ name: string; handle(event: T): Promise<unknown> | unknown }>,
  event: T,
  decorator: string,
): Promise<void> {
  if (handlers.length === 0) {
    throw new WechatPayNotifyError('NO_HANDLER', `no ${decorator} is registered`);
  }
  for (const handler of handlers) {
    try {
      await handler.handle(event);
    } catch (error) {
      throw new WechatPayNotifyError('HANDLER_FAILED', `${handler.name} failed`, { cause: error });
    }
  }
}
