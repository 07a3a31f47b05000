const config = require('../config');

const TOKEN_KEY = 'shopToken';
const NETWORK_MESSAGE = '无法连接商店服务器，请检查网络后重试';
const LOGIN_MESSAGE = '微信登录失败，请稍后重试';

/**
 * kind: 'network' (no answer), 'http' (the shop answered with an error) or 'login' (wx.login
 * failed). body: the shop's JSON answer, for 'http'.
 */
function apiError(kind, message, statusCode, detail, body) {
  const error = new Error(message);
  error.kind = kind;
  error.statusCode = statusCode;
  error.detail = detail;
  error.body = body;
  return error;
}

/**
 * The order a failed checkout left behind, when the shop says paying it again can work:
 * { orderNo, retryPath }, otherwise null.
 */
function pendingOrder(error) {
  const body = error && error.kind === 'http' ? error.body : null;
  if (!body || body.retryable !== true) return null;
  if (typeof body.orderNo !== 'string' || typeof body.retryPath !== 'string') return null;
  return { orderNo: body.orderNo, retryPath: body.retryPath };
}

function messageFromBody(body, statusCode) {
  const message = body && body.message;
  if (Array.isArray(message) && message.length > 0) return message.join('；');
  if (typeof message === 'string' && message !== '') return message;
  return '商店服务器出错了（HTTP ' + statusCode + '），请稍后重试';
}

/**
 * wx.request calls success for every HTTP answer, 4xx and 5xx included, and fail only when no
 * answer came back; both become a rejection here so pages handle one error path.
 */
function send(method, path, data, token) {
  return new Promise((resolve, reject) => {
    const header = { 'content-type': 'application/json' };
    if (token) header.Authorization = 'Bearer ' + token;
    wx.request({
      url: config.apiBaseUrl + path,
      method: method,
      data: data,
      header: header,
      timeout: config.requestTimeoutMs,
      success(res) {
        if (res.statusCode >= 200 && res.statusCode < 300) resolve(res.data);
        else
          reject(
            apiError(
              'http',
              messageFromBody(res.data, res.statusCode),
              res.statusCode,
              undefined,
              res.data,
            ),
          );
      },
      fail(res) {
        reject(apiError('network', NETWORK_MESSAGE, undefined, res && res.errMsg));
      },
    });
  });
}

function wxLoginCode() {
  return new Promise((resolve, reject) => {
    wx.login({
      success(res) {
        if (res.code) resolve(res.code);
        else reject(apiError('login', LOGIN_MESSAGE, undefined, res.errMsg));
      },
      fail(res) {
        reject(apiError('login', LOGIN_MESSAGE, undefined, res && res.errMsg));
      },
    });
  });
}

let pendingLogin = null;

/** wx.login, then POST /api/auth/login; concurrent callers share one login. */
function login() {
  if (!pendingLogin) {
    pendingLogin = wxLoginCode()
      .then((code) => send('POST', '/api/auth/login', { code: code }))
      .then(
        (body) => {
          pendingLogin = null;
          wx.setStorageSync(TOKEN_KEY, body.token);
          return body.token;
        },
        (error) => {
          pendingLogin = null;
          throw error;
        },
      );
  }
  return pendingLogin;
}

/** A request without a session (the catalogue). */
function request(method, path, data) {
  return send(method, path, data);
}

/** A request as the logged-in user; logs in first when there is no token yet. */
function authorized(method, path, data) {
  const stored = wx.getStorageSync(TOKEN_KEY);
  const token = stored ? Promise.resolve(stored) : login();
  return token.then((current) =>
    send(method, path, data, current).catch((error) => {
      // The shop forgot this session (expired, or restarted with another secret): log in once more.
      if (error.statusCode !== 401) throw error;
      wx.removeStorageSync(TOKEN_KEY);
      return login().then((fresh) => send(method, path, data, fresh));
    }),
  );
}

module.exports = { TOKEN_KEY, login, request, authorized, pendingOrder };
