import { signaturesEqual } from 'nestjs-wechat-pay-v2/protocol';
import { newRequestId, newSessionKey } from './ids';
import type { MerchantRegistry } from './merchants';
import type { SimulatorStore } from './store';

export interface LoginFailure {
  errcode: number;
  errmsg: string;
}

export interface LoginSuccess {
  openid: string;
  session_key: string;
}

/** The errcode/errmsg pairs jscode2session answers with (§3); errmsg gains a `, rid: ...` suffix. */
export const LOGIN_ERRORS = {
  systemBusy: [-1, 'system error'],
  appidMissing: [41002, 'appid missing'],
  secretMissing: [41004, 'appsecret missing'],
  codeMissing: [41008, 'missing code'],
  badGrantType: [40002, 'invalid grant_type'],
  badAppid: [40013, 'invalid appid'],
  badSecret: [40125, 'invalid appsecret'],
  badCode: [40029, 'invalid code'],
  usedCode: [40163, 'code been used'],
  notGet: [43001, 'require GET method'],
} as const satisfies Record<string, readonly [number, string]>;

export function loginFailure([errcode, text]: readonly [number, string]): LoginFailure {
  return { errcode, errmsg: `${text}, rid: ${newRequestId()}` };
}

/** `GET /sns/jscode2session`: trades a single-use wx.login code for the user's openid. */
export class LoginApi {
  constructor(
    private readonly merchants: MerchantRegistry,
    private readonly store: SimulatorStore,
  ) {}

  code2Session(query: URLSearchParams): LoginSuccess | LoginFailure {
    const appid = query.get('appid') ?? '';
    const secret = query.get('secret') ?? '';
    const code = query.get('js_code') ?? '';
    if (appid === '') return loginFailure(LOGIN_ERRORS.appidMissing);
    if (secret === '') return loginFailure(LOGIN_ERRORS.secretMissing);
    if (code === '') return loginFailure(LOGIN_ERRORS.codeMissing);
    if (query.get('grant_type') !== 'authorization_code')
      return loginFailure(LOGIN_ERRORS.badGrantType);
    const merchant = this.merchants.byAppId(appid);
    if (!merchant) return loginFailure(LOGIN_ERRORS.badAppid);
    if (!signaturesEqual(merchant.appSecret, secret)) return loginFailure(LOGIN_ERRORS.badSecret);
    const redeemed = this.store.redeemLoginCode(code, appid);
    if (!redeemed.ok) {
      return loginFailure(
        redeemed.reason === 'used' ? LOGIN_ERRORS.usedCode : LOGIN_ERRORS.badCode,
      );
    }
    return { session_key: newSessionKey(), openid: redeemed.openid };
  }
}
