/** What jscode2session returns for a wx.login() code. */
export interface Code2SessionResult {
  openid: string;
  /** Keep on the server; never send it to the client or a log. Not enumerable, not in JSON. */
  sessionKey: string;
  /** Present when the mini-program is bound to an Open Platform account. */
  unionid?: string;
}
