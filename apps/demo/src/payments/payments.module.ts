import { Module } from '@nestjs/common';
import { PaymentNotifyHandler } from './payment-notify.handler';
import { OrderSyncService } from './order-sync.service';
import { PaymentsService } from './payments.service';

@Module({
  providers: [PaymentsService, OrderSyncService, PaymentNotifyHandler],
  exports: [PaymentsService, OrderSyncService],
})
export class PaymentsModule {}
