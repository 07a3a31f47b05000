import { WechatPayError } from '../errors/errors';

/**
 * jscode2session answered with a non-zero `errcode` (40029 invalid code, 40163 code already used,
 * 40226 blocked user, 45011 rate limited...). Never retryable: a login code is single-use, so the
 * mini-program has to call wx.login again for a fresh one.
 */
export class WechatPayLoginError extends WechatPayError {
  readonly code = 'LOGIN';
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
    rawBody: string,
  ) {
    super(`jscode2session failed with errcode ${errcode}: ${errmsg}`, {
      rawBody,
      retryable: false,
    });
  }
}
