import { Controller, Get, Header, Inject, UnauthorizedException, Headers } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { bearerMatches } from '../common/bearer-token';
import { DEMO_CONFIG, type DemoConfig } from '../config/demo.config';
import { MetricsService } from './metrics.service';

/** GET /metrics in Prometheus text format; behind a bearer token when METRICS_TOKEN is set. */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
  ) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  scrape(@Headers('authorization') authorization: string | undefined): Promise<string> {
    const token = this.config.metrics.token;
    if (token !== undefined) {
      if (!bearerMatches(authorization, token)) {
        throw new UnauthorizedException('GET /metrics needs the METRICS_TOKEN as a Bearer token');
      }
    }
    return this.metrics.scrape();
  }
}
