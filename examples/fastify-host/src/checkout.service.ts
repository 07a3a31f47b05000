import { Injectable } from '@nestjs/common';
import { WechatLoginService, WechatPayGateway, type PayParams } from 'nestjs-wechat-pay-v2';

export interface Order {
  no: string;
  title: string;
  totalFen: number;
}

@Injectable()
export class CheckoutService {
  /** Stands in for your orders table. */
  readonly orders = new Map<string, Order>();

  constructor(
    private readonly wechat: WechatPayGateway,
    private readonly login: WechatLoginService,
  ) {}

  /** A wx.login() code for the payer's openid. Never retried: a code is single-use. */
  async openidFor(code: string): Promise<string> {
    const { openid } = await this.login.code2Session(code); // session_key stays on the server
    return openid;
  }

  /** Places the order at WeChat and returns what the mini-program passes to wx.requestPayment. */
  async checkout(order: Order, openid: string, ip: string): Promise<PayParams> {
    this.orders.set(order.no, order);
    const { payParams } = await this.wechat.createJsapiPayment({
      outTradeNo: order.no,
      body: order.title,
      totalFee: order.totalFen, // integer fen; a float or 0 is refused before anything is sent
      openid,
      spbillCreateIp: ip,
    });
    return payParams; // { timeStamp, nonceStr, package, signType, paySign }: all strings
  }

  /** Asks WeChat directly, for when a notification is late. */
  async isPaid(orderNo: string): Promise<boolean> {
    const result = await this.wechat.orderQuery({ outTradeNo: orderNo });
    return result.tradeState === 'SUCCESS' || result.tradeState === 'REFUND';
  }
}
