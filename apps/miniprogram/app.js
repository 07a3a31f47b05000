App({
  globalData: {
    // The answer of POST /api/orders, handed from the shop page to the order page so that page can
    // open the payment at once with the pay parameters it carries.
    checkout: null,
    // { orderNo, message } when the shop page opens an order whose payment it could not start.
    notice: null,
  },
});
