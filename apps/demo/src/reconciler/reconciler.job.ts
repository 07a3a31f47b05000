import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DEMO_CONFIG, type DemoConfig } from '../config/demo.config';
import { ReconcilerService } from './reconciler.service';

const INTERVAL_NAME = 'order-reconciler';

/** Runs a reconciler pass every RECONCILER_INTERVAL_MS, unless RECONCILER_ENABLED is off. */
@Injectable()
export class ReconcilerJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ReconcilerService.name);

  constructor(
    private readonly reconciler: ReconcilerService,
    private readonly scheduler: SchedulerRegistry,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.reconciler.enabled) return;
    const timer = setInterval(() => {
      this.reconciler
        .runOnce()
        .catch((error: unknown) =>
          this.logger.error(
            `reconciler pass failed: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
    }, this.config.reconciler.intervalMs);
    this.scheduler.addInterval(INTERVAL_NAME, timer);
  }

  onModuleDestroy(): void {
    if (this.scheduler.doesExist('interval', INTERVAL_NAME))
      this.scheduler.deleteInterval(INTERVAL_NAME);
  }
}
