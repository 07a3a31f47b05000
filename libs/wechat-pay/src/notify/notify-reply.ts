import { WechatPayNotifyError } from '../errors/errors';
import { buildXml } from '../xml/xml-codec';
import type { NotifyRejectReason } from './notify.types';

/**
 * The `return_msg` sent for each refusal. Fixed texts: a reply never carries an exception message,
 * a stack, configuration or anything else from inside the application.
 */
export const REJECT_MESSAGES: Readonly<Record<NotifyRejectReason, string>> = {
  EMPTY_BODY: 'empty body',
  BODY_TOO_LARGE: 'body too large',
  INCOMPLETE_BODY: 'incomplete body',
  UNSUPPORTED_BODY: 'unsupported body',
  INVALID_XML: 'invalid XML',
  RETURN_CODE_FAIL: 'return_code is not SUCCESS',
  MISSING_SIGNATURE: 'missing sign',
  BAD_SIGNATURE: 'invalid sign',
  APPID_MISMATCH: 'appid mismatch',
  MCH_ID_MISMATCH: 'mch_id mismatch',
  MISSING_FIELD: 'missing field',
  INVALID_FIELD: 'invalid field',
  DECRYPTION_FAILED: 'req_info does not decrypt',
  NO_HANDLER: 'no handler',
  HANDLER_FAILED: 'handler failed',
  INTERNAL_ERROR: 'internal error',
};

/** The v2 reply body: `SUCCESS`/`OK` to acknowledge, `FAIL` with a short reason to have WeChat re-send. */
export function buildNotifyReply(returnCode: 'SUCCESS' | 'FAIL', returnMsg?: string): string {
  return buildXml({
    return_code: returnCode,
    return_msg: returnMsg ?? (returnCode === 'SUCCESS' ? 'OK' : 'FAIL'),
  });
}

/** The reply for a refusal, with its fixed text. */
export function rejectionReply(reason: NotifyRejectReason): string {
  return buildNotifyReply('FAIL', REJECT_MESSAGES[reason]);
}

/**
 * The v2 reply for the outcome of verify + dispatch in a host's own route: no error → SUCCESS/OK;
 * a WechatPayNotifyError → FAIL with the fixed text of its reason; anything else → FAIL
 * `internal error`. Send it with HTTP 200 and `Content-Type: text/xml`.
 */
export function notifyReply(error?: unknown): string {
  if (error === undefined) return buildNotifyReply('SUCCESS');
  return rejectionReply(error instanceof WechatPayNotifyError ? error.reason : 'INTERNAL_ERROR');
}
