import { Module } from '@nestjs/common';
import { PaymentsModule } from '../payments/payments.module';
import { RefundsModule } from '../refunds/refunds.module';
import { ReconcilerJob } from './reconciler.job';
import { ReconcilerService } from './reconciler.service';

@Module({
  imports: [PaymentsModule, RefundsModule],
  providers: [ReconcilerService, ReconcilerJob],
  exports: [ReconcilerService],
})
export class ReconcilerModule {}
