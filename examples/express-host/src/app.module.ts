import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { WechatPayModule } from 'nestjs-wechat-pay-v2';
import { CheckoutController } from './checkout.controller';
import { CheckoutService } from './checkout.service';
import { PaymentEvents } from './payment-events';

@Module({
  imports: [
    ConfigModule.forRoot(),
    WechatPayModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        appId: config.getOrThrow<string>('WECHAT_APP_ID'),
        mchId: config.getOrThrow<string>('WECHAT_MCH_ID'),
        apiKey: config.getOrThrow<string>('WECHAT_API_KEY'), // exactly 32 characters
        appSecret: config.getOrThrow<string>('WECHAT_APP_SECRET'), // for mini-program login
        notifyUrl: config.getOrThrow<string>('WECHAT_NOTIFY_URL'), // reaches POST /wechat-pay/notify
        // Unset in production (the real hosts); the simulator's address in tests.
        baseUrl: config.get<string>('WECHAT_PAY_BASE_URL'),
        apiBaseUrl: config.get<string>('WECHAT_API_BASE_URL'),
      }),
    }),
  ],
  controllers: [CheckoutController],
  providers: [CheckoutService, PaymentEvents],
})
export class AppModule {}
