import {
  Body,
  Controller,
  Get,
  HttpCode,
  Ip,
  NotFoundException,
  Param,
  Post,
} from '@nestjs/common';
import type { PayParams } from 'nestjs-wechat-pay-v2';
import { CheckoutService } from './checkout.service';
import { PaymentEvents } from './payment-events';

@Controller()
export class CheckoutController {
  constructor(
    private readonly checkout: CheckoutService,
    private readonly events: PaymentEvents,
  ) {}

  @Post('login')
  @HttpCode(200)
  async login(@Body() body: { code: string }): Promise<{ openid: string }> {
    return { openid: await this.checkout.openidFor(body.code) };
  }

  @Post('orders')
  async order(
    @Body() body: { no: string; totalFen: number; openid: string },
    @Ip() ip: string,
  ): Promise<PayParams> {
    const order = { no: body.no, title: 'Coffee', totalFen: body.totalFen };
    return this.checkout.checkout(order, body.openid, ip.replace(/^::ffff:/, ''));
  }

  @Get('orders/:no')
  async status(@Param('no') no: string): Promise<{ notified: boolean; paidAtWechat: boolean }> {
    if (!this.checkout.orders.has(no)) throw new NotFoundException();
    return { notified: this.events.paid.has(no), paidAtWechat: await this.checkout.isPaid(no) };
  }
}
