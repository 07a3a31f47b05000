const config = require('../config');

const TOKEN_KEY = 'shopToken';
const NETWORK_MESSAGE = '无法连接商店服务器，请检查网络后重试';
const LOGIN_MESSAGE = '微信登录失败，请稍后重试';

/**
 * The shop's answers (apps/demo: ProductDto, OrderDto, CheckoutDto, OrderPageDto). Amounts are
 * integer fen, times ISO strings.
 *
 * @typedef {{ id: number, name: string, priceFen: number }} Product
 * @typedef {{ productId: number, name: string, unitPriceFen: number, quantity: number, lineTotalFen: number }} OrderLine
 * @typedef {{ amountFen: number, status: string, createdAt: string, successAt?: string }} OrderRefund
 * @typedef {{ orderNo: string, amount: number, status: string, description: string, createdAt: string, expiresAt: string, paidAt?: string, items: OrderLine[], refundedFen?: number, refunds?: OrderRefund[] }} Order
 * @typedef {{ items: Order[], page: number, pageSize: number, total: number }} OrderPage
 *
 * The five wx.requestPayment fields exactly as the shop signed them, all strings. Every 2xx
 * answer of order creation and /pay carries them.
 * @typedef {{ timeStamp: string, nonceStr: string, package: string, signType: 'MD5' | 'HMAC-SHA256', paySign: string }} PayParams
 * @typedef {Order & { payParams: PayParams }} Checkout
 *
 * The shop's error body: `orderNo` and `retryPath` when a placed order's payment could not start.
 * @typedef {{ message?: string | string[], retryable?: boolean, orderNo?: string, retryPath?: string }} ErrorBody
 *
 * kind: 'network' (no answer), 'http' (the shop answered with an error) or 'login' (wx.login
 * failed). body: the shop's JSON answer, for 'http'. orderNo: set by the shop page when the
 * failed request was for an order already placed.
 * @typedef {Error & { kind: 'network' | 'http' | 'login', statusCode?: number, detail?: string, body?: ErrorBody, orderNo?: string }} ApiError
 *
 * @typedef {'GET' | 'POST'} Method
 */

/**
 * @param {ApiError['kind']} kind
 * @param {string} message
 * @param {number} [statusCode]
 * @param {string} [detail]
 * @param {ErrorBody} [body]
 * @returns {ApiError}
 */
function apiError(kind, message, statusCode, detail, body) {
  const error = /** @type {ApiError} */ (new Error(message));
  error.kind = kind;
  error.statusCode = statusCode;
  error.detail = detail;
  error.body = body;
  return error;
}

/**
 * The order a failed checkout left behind, when the shop says paying it again can work:
 * { orderNo, retryPath }, otherwise null.
 * @param {ApiError | undefined} error
 * @returns {{ orderNo: string, retryPath: string } | null}
 */
function pendingOrder(error) {
  const body = error && error.kind === 'http' ? error.body : null;
  if (!body || body.retryable !== true) return null;
  if (typeof body.orderNo !== 'string' || typeof body.retryPath !== 'string') return null;
  return { orderNo: body.orderNo, retryPath: body.retryPath };
}

/**
 * @param {ErrorBody | undefined} body
 * @param {number} statusCode
 */
function messageFromBody(body, statusCode) {
  const message = body && body.message;
  if (Array.isArray(message) && message.length > 0) return message.join('；');
  if (typeof message === 'string' && message !== '') return message;
  return '商店服务器出错了（HTTP ' + statusCode + '），请稍后重试';
}

/**
 * wx.request calls success for every HTTP answer, 4xx and 5xx included, and fail only when no
 * answer came back; both become a rejection here so pages handle one error path. The answer is
 * the shop's JSON, typed by the caller that knows which endpoint it asked.
 * @param {Method} method
 * @param {string} path
 * @param {WechatMiniprogram.IAnyObject} [data]
 * @param {string} [token]
 * @returns {Promise<any>}
 */
function send(method, path, data, token) {
  return new Promise((resolve, reject) => {
    /** @type {Record<string, string>} */
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
        else {
          const body = /** @type {ErrorBody | undefined} */ (res.data);
          reject(
            apiError(
              'http',
              messageFromBody(body, res.statusCode),
              res.statusCode,
              undefined,
              body,
            ),
          );
        }
      },
      fail(res) {
        reject(apiError('network', NETWORK_MESSAGE, undefined, res && res.errMsg));
      },
    });
  });
}

/** @returns {Promise<string>} */
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

/** @type {Promise<string> | null} */
let pendingLogin = null;

/**
 * wx.login, then POST /api/auth/login; concurrent callers share one login.
 * @returns {Promise<string>}
 */
function login() {
  if (!pendingLogin) {
    pendingLogin = wxLoginCode()
      .then((code) => send('POST', '/api/auth/login', { code: code }))
      .then(
        (/** @type {{ token: string }} */ body) => {
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

/**
 * A request as the logged-in user; logs in first when there is no token yet.
 * @param {Method} method
 * @param {string} path
 * @param {WechatMiniprogram.IAnyObject} [data]
 * @returns {Promise<any>}
 */
function authorized(method, path, data) {
  /** @type {string} */
  const stored = wx.getStorageSync(TOKEN_KEY);
  const token = stored ? Promise.resolve(stored) : login();
  return token.then((current) =>
    send(method, path, data, current).catch((/** @type {ApiError} */ error) => {
      // The shop forgot this session (expired, or restarted with another secret): log in once more.
      if (error.statusCode !== 401) throw error;
      wx.removeStorageSync(TOKEN_KEY);
      return login().then((fresh) => send(method, path, data, fresh));
    }),
  );
}

/** @param {string} orderNo */
function orderPath(orderNo) {
  return '/api/orders/' + encodeURIComponent(orderNo);
}

/**
 * The catalogue; no session needed.
 * @returns {Promise<Product[]>}
 */
function listProducts() {
  return send('GET', '/api/products');
}

/**
 * Only what and how many: the shop prices the order itself.
 * @param {Array<{ productId: number, quantity: number }>} items
 * @returns {Promise<Checkout>}
 */
function createOrder(items) {
  return authorized('POST', '/api/orders', { items: items });
}

/**
 * Fresh pay parameters for an order already placed, at the path the shop names (`retryPath`)
 * or at the order's own /pay.
 * @param {string} path
 * @returns {Promise<Checkout>}
 */
function payAt(path) {
  return authorized('POST', path);
}

/**
 * @param {string} orderNo
 * @returns {Promise<Checkout>}
 */
function payOrder(orderNo) {
  return payAt(orderPath(orderNo) + '/pay');
}

/**
 * @param {string} orderNo
 * @returns {Promise<Order>}
 */
function getOrder(orderNo) {
  return authorized('GET', orderPath(orderNo));
}

/**
 * @param {number} page
 * @param {number} pageSize
 * @returns {Promise<OrderPage>}
 */
function listOrders(page, pageSize) {
  return authorized('GET', '/api/orders', { page: page, pageSize: pageSize });
}

module.exports = {
  TOKEN_KEY,
  login,
  pendingOrder,
  listProducts,
  createOrder,
  payAt,
  payOrder,
  getOrder,
  listOrders,
};
