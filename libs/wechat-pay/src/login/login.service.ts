import { inspect } from 'node:util';
import { Injectable, Logger } from '@nestjs/common';
import { appSecretOf } from '../config/secrets';
import { WechatPayConfig } from '../config/wechat-pay.options';
import {
  WechatPayConfigError,
  WechatPayProtocolError,
  WechatPayTransportError,
} from '../errors/errors';
import { validateJsCode } from '../gateway/request-validation';
import { WechatPayTransport, type TransportResponse } from '../gateway/transport';
import { WechatPayHookRunner } from '../hooks/hooks';
import { WechatPayLoginError } from './login.errors';
import type { Code2SessionResult } from './login.types';

const ENDPOINT = '/sns/jscode2session';
const REDACTED = '[redacted]';

/**
 * Mini-program login (`auth.code2Session`): exchanges a `wx.login()` code for the user's openid
 * and session key. Not a WeChat Pay call: another host (`apiBaseUrl`), JSON instead of signed
 * XML, authenticated by the app secret, with its own errors (WechatPayLoginError for an
 * `errcode`).
 *
 * Never retried, and every failure is reported as not retryable: the code is single-use and may
 * already be spent, so the mini-program has to call wx.login again.
 */
@Injectable()
export class WechatLoginService {
  private readonly logger = new Logger(WechatLoginService.name);

  constructor(
    private readonly config: WechatPayConfig,
    private readonly transport: WechatPayTransport,
    private readonly hooks: WechatPayHookRunner,
  ) {}

  async code2Session(jsCode: string): Promise<Code2SessionResult> {
    const code = validateJsCode(jsCode);
    const secret = appSecretOf(this.config);
    if (secret === undefined) {
      throw new WechatPayConfigError([
        { field: 'appSecret', problems: ['is required for jscode2session (mini-program login)'] },
      ]);
    }
    const url =
      `${this.config.apiBaseUrl}${ENDPOINT}` +
      `?appid=${encodeURIComponent(this.config.appId)}` +
      `&secret=${encodeURIComponent(secret)}` +
      `&js_code=${encodeURIComponent(code)}` +
      '&grant_type=authorization_code';
    return this.hooks.timeGatewayCall(ENDPOINT, async () => {
      let response: TransportResponse;
      try {
        response = await this.transport.get(url);
      } catch (error) {
        throw error instanceof WechatPayTransportError ? notRetryable(error) : error;
      }
      return this.read(response);
    });
  }

  private read(response: TransportResponse): Code2SessionResult {
    const text = response.body.toString('utf8');
    if (response.status !== 200) {
      throw new WechatPayTransportError(
        'HTTP_STATUS',
        `jscode2session answered HTTP ${response.status}`,
        { retryable: false, status: response.status, rawBody: redactSessionKeyText(text) },
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
