import { Module } from '@nestjs/common';
import { PaymentsModule } from '../payments/payments.module';
import { ReconcilerService } from './reconciler.service';

@Module({
  imports: [PaymentsModule],
  providers: [ReconcilerService],
  exports: [ReconcilerService],
})
export class ReconcilerModule {}
