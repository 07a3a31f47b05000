import type { NotifyRejectReason } from '../notify/notify.types';
/**
 * Every failure the library reports is a WechatPayError with a machine-readable `code`, a
 * `retryable` flag (true only when repeating the call with the same parameters is safe and may
 * succeed) and, where a response was received, its raw body. No error message ever contains a
 * secret: messages are built from field names and WeChat's own texts only.
 */
export type WechatPayErrorCode =
  | 'CONFIG_INVALID'
  | 'REQUEST_INVALID'
  | 'XML_INVALID'
  | 'TRANSPORT'
  | 'PROTOCOL'
  | 'RETURN_FAIL'
  | 'BAD_SIGNATURE'
  | 'BUSINESS'
  | 'LOGIN'
  | 'NOTIFY_REJECTED'
  | 'DECRYPTION_FAILED';

export abstract class WechatPayError extends Error {
  abstract readonly code: WechatPayErrorCode;
  readonly retryable: boolean;
  readonly rawBody?: string;

  protected constructor(message: string, options: { retryable?: boolean; rawBody?: string } = {}) {
    super(message);
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
    if (options.rawBody !== undefined) this.rawBody = options.rawBody;
  }
}

/** Module options failed validation at start-up. `fields` names each bad option; values are never echoed. */
export class WechatPayConfigError extends WechatPayError {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly fields: ReadonlyArray<{ field: string; problems: string[] }>) {
    super(
      `invalid WechatPayModule options: ${fields
        .map((f) => `${f.field} (${f.problems.join('; ')})`)
        .join(', ')}`,
    );
  }
}

/**
 * A value was refused before anything was sent: a request field, an amount out of range, a number
 * that is not an integer. `field` names it as the caller spelled it; the value is never echoed.
 */
export class WechatPayRequestError extends WechatPayError {
  readonly code = 'REQUEST_INVALID';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`invalid request field ${field}: ${reason}`);
  }
}

export type XmlErrorReason =
  | 'EMPTY'
  | 'TOO_LARGE'
  | 'NOT_UTF8'
  | 'DOCTYPE'
  | 'MALFORMED'
  | 'NESTED'
  | 'DUPLICATE_FIELD'
  | 'WRONG_ROOT'
  | 'BAD_FIELD_NAME'
  | 'TRAILING_CONTENT'
  | 'BAD_CHARACTER'
  | 'DECLARATION'
  | 'BAD_VALUE';

/** An XML document was refused by the codec. `reason` says which hazard was found. */
export class WechatPayXmlError extends WechatPayError {
  readonly code = 'XML_INVALID';
  constructor(
    readonly reason: XmlErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/**
 * TLS: the handshake or a certificate check failed (an untrusted server certificate, a client
 * certificate the server refused, https needed): retrying the same call cannot help.
 */
export type TransportFailure =
  'CONNECT_TIMEOUT' | 'READ_TIMEOUT' | 'NETWORK' | 'HTTP_STATUS' | 'TOO_LARGE' | 'TLS';

/** The HTTP exchange itself failed: no usable response was received. */
export class WechatPayTransportError extends WechatPayError {
  readonly code = 'TRANSPORT';
  /** The HTTP status, for HTTP_STATUS failures. */
  readonly status?: number;
  constructor(
    readonly failure: TransportFailure,
    message: string,
    options: { retryable: boolean; rawBody?: string; status?: number } = { retryable: true },
  ) {
    super(message, options);
    if (options.status !== undefined) this.status = options.status;
  }
}

/** The response is not a WeChat Pay envelope (no `return_code`, or not XML at all). */
export class WechatPayProtocolError extends WechatPayError {
  readonly code = 'PROTOCOL';
  constructor(message: string, rawBody: string) {
    super(message, { rawBody, retryable: false });
  }
}

/**
 * `return_code=FAIL`: WeChat refused the request at the envelope level; `returnMsg` is its reason
 * and `errorCode` the `error_code` some answers (downloadbill) carry. Retryable only where the
 * answer says to try again later (downloadbill's `Bill Creating`, `SYSTEMERROR`).
 */
export class WechatPayReturnError extends WechatPayError {
  readonly code = 'RETURN_FAIL';
  readonly errorCode?: string;
  constructor(
    readonly returnMsg: string,
    rawBody: string,
    options: { retryable?: boolean; errorCode?: string } = {},
  ) {
    super(`WeChat Pay refused the request: ${returnMsg || '(no return_msg)'}`, {
      rawBody,
      retryable: options.retryable ?? false,
    });
    if (options.errorCode !== undefined) this.errorCode = options.errorCode;
  }
}

/** A `return_code=SUCCESS` response whose signature does not verify: it must not be trusted. */
export class WechatPaySignatureError extends WechatPayError {
  readonly code = 'BAD_SIGNATURE';
  constructor(rawBody: string) {
    super('the response signature does not verify; the response was rejected', { rawBody });
  }
}

/**
 * Error codes after which the same call with the same parameters is safe and may succeed.
 * FREQUENCY_LIMITED (refunds of one order too close together, or of old orders too often) refunds
 * nothing and asks for the same request later (§9.1), so it belongs here: retry after a pause.
 */
export const RETRYABLE_ERR_CODES: ReadonlySet<string> = new Set([
  'SYSTEMERROR',
  'BIZERR_NEED_RETRY',
  'ORDER_NOT_READY',
  'FREQUENCY_LIMITED',
]);

/** `result_code=FAIL`: a signed business refusal carrying WeChat's `err_code` and `err_code_des`. */
export class WechatPayBusinessError extends WechatPayError {
  readonly code = 'BUSINESS';
  constructor(
    readonly errCode: string,
    readonly errCodeDes: string,
    rawBody: string,
  ) {
    super(`WeChat Pay business error ${errCode}: ${errCodeDes}`, {
      rawBody,
      retryable: RETRYABLE_ERR_CODES.has(errCode),
    });
  }
}

/**
 * `req_info` of a refund notification could not be decrypted with the merchant key: not base64 of
 * whole AES blocks, or the padding does not check out (a wrong key, or a forgery).
 */
export class WechatPayDecryptionError extends WechatPayError {
  readonly code = 'DECRYPTION_FAILED';
  constructor(message: string) {
    super(message);
  }
}

/**
 * A payment notification was refused: `reason` says why, in the words the notify reply and the
 * hooks use. The message carries field names only, never a value from the body; a handler's own
 * error is kept as `cause`, not copied into the message.
 */
export class WechatPayNotifyError extends WechatPayError {
  readonly code = 'NOTIFY_REJECTED';
  constructor(
    readonly reason: NotifyRejectReason,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message);
    if (options.cause !== undefined) this.cause = options.cause;
  }
}
