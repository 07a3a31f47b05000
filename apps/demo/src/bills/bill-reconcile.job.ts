import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { Clock } from '../clock';
import { DEMO_CONFIG, type DemoConfig } from '../config/demo.config';
import { previousBeijingDate } from './bill-date';
import {
  BillNotReadyError,
  BillReconcileService,
  BillRunBusyError,
  type BillRunReport,
} from './bill-reconcile.service';

const CRON_NAME = 'bill-reconcile';

/** What one firing of the job came to. */
export type BillJobOutcome =
  | { outcome: 'done'; report: BillRunReport }
  | { outcome: 'busy'; billDate: string }
  | { outcome: 'not-ready'; billDate: string }
  | { outcome: 'failed'; billDate: string; error: string };

/**
 * Reconciles the previous Beijing day's bill on BILL_RECONCILE_CRON (Asia/Shanghai), unless
 * BILL_RECONCILE_ENABLED is off. Every instance schedules it; the database lets one of them run a
 * date (BillReconcileService.claim) and the others find it busy and stop.
 */
@Injectable()
export class BillReconcileJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(BillReconcileJob.name);

  constructor(
    private readonly bills: BillReconcileService,
    private readonly scheduler: SchedulerRegistry,
    private readonly clock: Clock,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.billReconcile.enabled) return;
    const job = CronJob.from({
      cronTime: this.config.billReconcile.cron,
      timeZone: 'Asia/Shanghai',
      onTick: () => void this.runOnce(),
      start: false,
    });
    this.scheduler.addCronJob(CRON_NAME, job);
    job.start();
  }

  onModuleDestroy(): void {
    if (this.scheduler.doesExist('cron', CRON_NAME)) this.scheduler.deleteCronJob(CRON_NAME);
  }

  /** Reconciles yesterday (Beijing time, by the app's clock); never rejects. */
  async runOnce(): Promise<BillJobOutcome> {
    const billDate = previousBeijingDate(this.clock.now());
    try {
      return { outcome: 'done', report: await this.bills.reconcile(billDate, 'job') };
    } catch (error) {
      if (error instanceof BillRunBusyError) {
        this.logger.log(`bill ${billDate}: another instance is running it`);
        return { outcome: 'busy', billDate };
      }
      if (error instanceof BillNotReadyError) {
        // Run it with `npm run bill:reconcile` or the admin API once WeChat has it.
        this.logger.warn(error.message);
        return { outcome: 'not-ready', billDate };
      }
      const message = error instanceof Error ? error.message : String(error);
      this.logger.error(`bill ${billDate}: run failed: ${message}`);
      return { outcome: 'failed', billDate, error: message };
    }
  }
}
