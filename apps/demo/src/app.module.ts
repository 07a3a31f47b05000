import { Global, Module, type DynamicModule } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { WechatPayModule } from 'nestjs-wechat-pay-v2';
import { AuthModule } from './auth/auth.module';
import { BillsModule } from './bills/bills.module';
import { CatalogModule } from './catalog/catalog.module';
import { Clock } from './clock';
import { certificateOptions } from './config/certificate-options';
import { DEMO_CONFIG, type DemoConfig } from './config/demo.config';
import { DatabaseModule } from './database/database.module';
import { Transactions } from './database/transactions';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { MetricsService } from './metrics/metrics.service';
import { OrdersModule } from './orders/orders.module';
import { PaymentsModule } from './payments/payments.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { ReconcilerModule } from './reconciler/reconciler.module';
import { RefundsModule } from './refunds/refunds.module';

/** Things every feature module uses: the validated config, the clock and the transaction runner. */
@Global()
@Module({})
class CoreModule {
  static register(config: DemoConfig): DynamicModule {
    return {
      module: CoreModule,
      providers: [{ provide: DEMO_CONFIG, useValue: config }, Clock, Transactions],
      exports: [DEMO_CONFIG, Clock, Transactions],
    };
  }
}

@Module({})
export class AppModule {
  static register(config: DemoConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.register(config),
        DatabaseModule,
        MetricsModule.register(config),
        ScheduleModule.forRoot(),
        WechatPayModule.forRootAsync({
          // MetricsModule is global: the module reports WeChat calls and notifications to it.
          inject: [MetricsService],
          useFactory: (metrics: MetricsService) => ({
            appId: config.wechat.appId,
            mchId: config.wechat.mchId,
            apiKey: config.wechat.apiKey,
            appSecret: config.wechat.appSecret,
            signType: config.wechat.signType,
            notifyUrl: config.wechat.notifyUrl,
            baseUrl: config.wechat.payBaseUrl,
            apiBaseUrl: config.wechat.apiBaseUrl,
            ...certificateOptions(config),
            connectTimeoutMs: config.wechat.connectTimeoutMs,
            readTimeoutMs: config.wechat.readTimeoutMs,
            hooks: metrics,
          }),
        }),
        RateLimitModule,
        AuthModule,
        CatalogModule,
        PaymentsModule,
        OrdersModule,
        RefundsModule,
        ReconcilerModule,
        BillsModule,
        HealthModule,
      ],
    };
  }
}
