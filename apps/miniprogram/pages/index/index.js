const api = require('../../utils/api');
const { formatFen } = require('../../utils/money');

Page({
  data: {
    products: [],
    loading: true,
    error: '',
    buying: false,
  },

  onLoad() {
    this.loadProducts();
  },

  loadProducts() {
    this.setData({ loading: true, error: '' });
    return api.request('GET', '/api/products').then(
      (products) =>
        this.setData({
          loading: false,
          products: products.map((product) => ({
            id: product.id,
            name: product.name,
            priceText: formatFen(product.priceFen),
          })),
        }),
      (error) => this.setData({ loading: false, error: error.message }),
    );
  },

  onRetry() {
    this.loadProducts();
  },

  onBuy(event) {
    if (this.data.buying) return;
    const productId = Number(event.currentTarget.dataset.id);
    this.setData({ buying: true });
    wx.showLoading({ title: '正在下单', mask: true });
    // Only what and how many: the shop prices the order itself.
    api.authorized('POST', '/api/orders', { items: [{ productId: productId, quantity: 1 }] }).then(
      (checkout) => {
        wx.hideLoading();
        this.setData({ buying: false });
        getApp().globalData.checkout = checkout;
        wx.navigateTo({
          url: '/pages/order/order?orderNo=' + encodeURIComponent(checkout.orderNo),
        });
      },
      (error) => {
        wx.hideLoading();
        this.setData({ buying: false });
        wx.showModal({ title: '下单失败', content: error.message, showCancel: false });
      },
    );
  },

  onOpenOrders() {
    wx.navigateTo({ url: '/pages/orders/orders' });
  },
});
