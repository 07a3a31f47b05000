import { Controller, Get, Module } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  TerminusModule,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { WechatPayHealthIndicator, WechatPayHealthModule } from 'nestjs-wechat-pay-v2/health';

/**
 * `GET /health` is the app's readiness: 200 while the database answers, whatever WeChat does.
 * Every instance sees the same WeChat, so a load balancer that dropped them all during a WeChat
 * outage would only lose the order pages and the notify route too; WeChat's state is reported in
 * the body instead (`wechat`). `GET /health/wechat` answers 503 once WeChat is down by the
 * indicator's rule (several failed probes in a row), for dashboards and alerts.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly wechat: WechatPayHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  async readiness() {
    const result = await this.health.check([() => this.database.pingCheck('database')]);
    return { ...result, wechat: await this.wechat.state() };
  }

  @Get('wechat')
  @HealthCheck()
  wechatPay() {
    return this.health.check([() => this.wechat.isHealthy('wechat')]);
  }
}

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' }), WechatPayHealthModule.register()],
  controllers: [HealthController],
})
export class HealthModule {}
