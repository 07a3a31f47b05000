module.exports = {
  // The one setting to change: where the demo shop (npm start) listens. On a phone, use the
  // computer's LAN address instead of 127.0.0.1.
  apiBaseUrl: 'http://127.0.0.1:3000',

  // requestPayment:ok only means the WeChat client is done; the order counts as paid once the
  // shop says so. The shop is asked this often, this many times, before the page gives up waiting.
  paymentCheck: {
    intervalMs: 1000,
    attempts: 10,
  },

  requestTimeoutMs: 10000,

  // When the shop has placed the order but could not prepare its payment (WeChat busy or out of
  // reach), the shop page waits this long and asks once more before offering to pay again.
  checkoutRetryDelayMs: 1000,
};
