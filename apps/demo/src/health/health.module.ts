import { Controller, Get, Injectable, Module, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { WechatPayBusinessError, WechatPayError, WechatPayGateway } from 'nestjs-wechat-pay-v2';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { Clock } from '../clock';

type GatewayState = 'up' | 'down' | 'misconfigured';
const PROBE_ORDER_NO = 'HEALTHPROBE0000';
const GATEWAY_CACHE_MS = 30_000;

/**
 * Database: a trivial query. Gateway: a signed orderquery for an order that does not exist; an
 * ORDERNOTEXIST answer proves the host is reachable and our key and merchant are accepted. The
 * gateway result is cached so health probes do not turn into a stream of WeChat calls.
 */
@Injectable()
export class HealthService {
  private cached?: { at: number; state: GatewayState };

  constructor(
    private readonly dataSource: DataSource,
    private readonly gateway: WechatPayGateway,
    private readonly clock: Clock,
  ) {}

  async check(): Promise<{
    status: 'ok' | 'degraded';
    database: 'up' | 'down';
    gateway: GatewayState;
  }> {
    const [database, gateway] = await Promise.all([this.database(), this.gatewayState()]);
    return { status: database === 'up' && gateway === 'up' ? 'ok' : 'degraded', database, gateway };
  }

  private async database(): Promise<'up' | 'down'> {
    try {
      await this.dataSource.query('SELECT 1');
      return 'up';
    } catch {
      return 'down';
    }
  }

  private async gatewayState(): Promise<GatewayState> {
    const now = this.clock.now();
    if (this.cached && now - this.cached.at < GATEWAY_CACHE_MS) return this.cached.state;
    let state: GatewayState;
    try {
      await this.gateway.orderQuery({ outTradeNo: PROBE_ORDER_NO }, { readTimeoutMs: 3000 });
      state = 'up';
    } catch (error) {
      if (error instanceof WechatPayBusinessError)
        state = error.errCode === 'SYSTEMERROR' ? 'down' : 'up';
      else if (error instanceof WechatPayError)
        state = error.code === 'TRANSPORT' ? 'down' : 'misconfigured';
      else throw error;
    }
    this.cached = { at: now, state };
    return state;
  }
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  async get(@Res({ passthrough: true }) res: Response) {
    const result = await this.health.check();
    res.status(result.status === 'ok' ? 200 : 503);
    return result;
  }
}

@Module({ controllers: [HealthController], providers: [HealthService] })
export class HealthModule {}
