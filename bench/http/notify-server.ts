import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { WechatPayModule, WechatPayNotifyHandler } from 'nestjs-wechat-pay-v2';
import { TEST_MERCHANT } from 'wechat-pay-v2-simulator';
import { listenUntilSignalled } from './server-process';

/** Accepts every verified notification and does nothing: what is left is the library's own cost. */
@Injectable()
class NoopHandler {
  @WechatPayNotifyHandler()
  async onPayment(): Promise<void> {}
}

@Module({
  imports: [
    WechatPayModule.forRoot({
      appId: TEST_MERCHANT.appId,
      mchId: TEST_MERCHANT.mchId,
      apiKey: TEST_MERCHANT.apiKey,
      appSecret: TEST_MERCHANT.appSecret,
      notifyUrl: 'http://127.0.0.1/wechat-pay/notify',
    }),
  ],
  providers: [NoopHandler],
})
class NotifyModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(NotifyModule, { logger: false });
  await listenUntilSignalled(app);
}

void main();
