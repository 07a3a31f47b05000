import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { DemoConfig } from '../config/demo.config';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

/**
 * The metrics service is always there (the reconciler and the WeChat Pay hooks report to it);
 * the /metrics route only when METRICS allows it.
 */
@Global()
@Module({})
export class MetricsModule {
  static register(config: DemoConfig): DynamicModule {
    return {
      module: MetricsModule,
      controllers: config.metrics.enabled ? [MetricsController] : [],
      providers: [MetricsService],
      exports: [MetricsService],
    };
  }
}
