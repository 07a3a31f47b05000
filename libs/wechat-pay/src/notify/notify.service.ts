import { Injectable, Logger } from '@nestjs/common';
import { WechatPayConfig } from '../config/wechat-pay.options';
import { WechatPayXmlError } from '../errors/errors';
import { resolveSignType, type SignType } from '../signer/sign';
import { WechatPaySigner } from '../signer/signer.service';
import { buildXml, parseXml } from '../xml/xml-codec';
import { NotifyHandlerRegistry } from './notify-handler.registry';
import { describeError, shorten } from './notify.logging';
import type { NotifyRejectReason, NotifyResult, PaymentNotification } from './notify.types';

/**
 * The `return_msg` sent for each refusal. Fixed texts: a reply never carries an exception message,
 * a stack, configuration or anything else from inside the application.
 */
const REJECT_MESSAGES: Readonly<Record<NotifyRejectReason, string>> = {
  EMPTY_BODY: 'empty body',
  BODY_TOO_LARGE: 'body too large',
  UNSUPPORTED_BODY: 'unsupported body',
  INVALID_XML: 'invalid XML',
  RETURN_CODE_FAIL: 'return_code is not SUCCESS',
  MISSING_SIGNATURE: 'missing sign',
  BAD_SIGNATURE: 'invalid sign',
  APPID_MISMATCH: 'appid mismatch',
  MCH_ID_MISMATCH: 'mch_id mismatch',
  MISSING_FIELD: 'missing field',
  INVALID_FIELD: 'invalid field',
  NO_HANDLER: 'no handler',
  HANDLER_FAILED: 'handler failed',
  INTERNAL_ERROR: 'internal error',
};

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

const FEN = /^\d{1,15}$/;

/** The v2 reply body: `SUCCESS`/`OK` to acknowledge, `FAIL` with a short reason to have WeChat re-send. */
export function buildNotifyReply(returnCode: 'SUCCESS' | 'FAIL', returnMsg?: string): string {
  return buildXml({
    return_code: returnCode,
    return_msg: returnMsg ?? (returnCode === 'SUCCESS' ? 'OK' : 'FAIL'),
  });
}

/** A refusal result with its fixed reply text. */
export function rejectNotification(reason: NotifyRejectReason): NotifyResult {
  return { accepted: false, reason, reply: buildNotifyReply('FAIL', REJECT_MESSAGES[reason]) };
}

function xmlRejectReason(error: WechatPayXmlError): NotifyRejectReason {
  if (error.reason === 'EMPTY') return 'EMPTY_BODY';
  if (error.reason === 'TOO_LARGE') return 'BODY_TOO_LARGE';
  return 'INVALID_XML';
}

/**
 * Verifies payment notifications and hands them to the host's `@WechatPayNotifyHandler()` methods.
 * Use it directly (with `notifyController: false`) to serve notifications from your own route; the
 * built-in controller does exactly that.
 */
@Injectable()
export class WechatPayNotifyService {
  private readonly logger = new Logger('WechatPayNotify');

  constructor(
    private readonly config: WechatPayConfig,
    private readonly signer: WechatPaySigner,
    private readonly registry: NotifyHandlerRegistry,
  ) {}

  /**
   * Verifies one notification body (the raw bytes as received) and, for a paid order, awaits every
   * handler in order. Never throws for anything the sender controls; send `result.reply` with
   * HTTP 200 and `Content-Type: text/xml`.
   */
  async handle(body: Buffer | string): Promise<NotifyResult> {
    let fields: Record<string, string>;
    try {
      fields = await parseXml(body, { maxBytes: this.config.maxBodyBytes });
    } catch (error) {
      if (!(error instanceof WechatPayXmlError)) throw error;
      return this.reject(xmlRejectReason(error), error.message);
    }

    // A FAIL envelope is not signed, so nothing in it can be trusted or acted on.
    if (fields.return_code !== 'SUCCESS') return this.reject('RETURN_CODE_FAIL');
    if (!fields.sign) return this.reject('MISSING_SIGNATURE');
    // Over the whole parsed map: fields this library does not name (coupons, sub-merchant ids,
    // later additions) are signed too, and dropping them would break genuine notifications.
    if (!this.signer.verify(fields)) return this.reject('BAD_SIGNATURE');
    if (fields.appid !== this.config.appId) return this.reject('APPID_MISMATCH');
    if (fields.mch_id !== this.config.mchId) return this.reject('MCH_ID_MISMATCH');

    if (!fields.result_code) return this.reject('MISSING_FIELD', 'result_code');
    if (fields.result_code !== 'SUCCESS') {
      // WeChat notifies paid orders only, so a signed result_code=FAIL carries no payment to record.
      // It is still acknowledged: answering FAIL only makes WeChat re-send it for a day (the
      // tenpay package does that, its issue #36). Handlers are not called.
      this.logger.warn(
        `acknowledged a notification with result_code=${shorten(fields.result_code)} ` +
          `for out_trade_no ${shorten(fields.out_trade_no ?? '(none)')}` +
          (fields.err_code ? ` (err_code ${shorten(fields.err_code)})` : '') +
          '; handlers not called',
      );
      return { accepted: true, reply: buildNotifyReply('SUCCESS') };
    }

    const missing = REQUIRED_FIELDS.find((name) => !fields[name]);
    if (missing) return this.reject('MISSING_FIELD', missing);
    for (const name of ['total_fee', 'cash_fee'] as const) {
      if (!FEN.test(fields[name])) {
        return this.reject('INVALID_FIELD', `${name} is not a whole number of fen`);
      }
    }

    // verify() succeeded, so the algorithm resolved to a known one.
    const event = this.toEvent(
      fields,
      resolveSignType(fields, this.signer.defaultSignType) as SignType,
    );
    return this.dispatch(event);
  }

  private toEvent(fields: Record<string, string>, signType: SignType): PaymentNotification {
    const event: PaymentNotification = {
      outTradeNo: fields.out_trade_no,
      transactionId: fields.transaction_id,
      totalFee: Number(fields.total_fee),
      cashFee: Number(fields.cash_fee),
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

  private async dispatch(event: PaymentNotification): Promise<NotifyResult> {
    const handlers = this.registry.handlers;
    if (handlers.length === 0) {
      this.logger.error(
        `no notify handler registered; answered FAIL for out_trade_no ${shorten(event.outTradeNo)} so WeChat re-sends it`,
      );
      return { ...rejectNotification('NO_HANDLER'), event };
    }
    for (const handler of handlers) {
      try {
        await handler.handle(event);
      } catch (error) {
        // Later handlers are skipped: the retry WeChat sends on FAIL runs them all again.
        this.logger.error(
          `${handler.name} failed for out_trade_no ${shorten(event.outTradeNo)}: ${describeError(error)}`,
        );
        return { ...rejectNotification('HANDLER_FAILED'), event };
      }
    }
    return { accepted: true, reply: buildNotifyReply('SUCCESS'), event };
  }

  private reject(reason: NotifyRejectReason, detail?: string): NotifyResult {
    this.logger.warn(`refused a notification: ${reason}${detail ? ` (${shorten(detail)})` : ''}`);
    return rejectNotification(reason);
  }
}
