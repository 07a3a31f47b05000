import { Module } from '@nestjs/common';
import { PaymentsModule } from '../payments/payments.module';
import { BillReconcileJob } from './bill-reconcile.job';
import { BillReconcileService } from './bill-reconcile.service';
import { BillsController } from './bills.controller';

@Module({
  imports: [PaymentsModule],
  controllers: [BillsController],
  providers: [BillReconcileService, BillReconcileJob],
  exports: [BillReconcileService],
})
export class BillsModule {}
