import { Module } from '@nestjs/common';
import { AdminGuard } from '../admin/admin.guard';
import { RefundNotifyHandler } from './refund-notify.handler';
import { RefundSyncService } from './refund-sync.service';
import { RefundsController } from './refunds.controller';
import { RefundsService } from './refunds.service';
import { RefundsStore } from './refunds.store';

@Module({
  controllers: [RefundsController],
  providers: [RefundsService, RefundsStore, RefundSyncService, RefundNotifyHandler, AdminGuard],
  exports: [RefundsStore, RefundSyncService],
})
export class RefundsModule {}
