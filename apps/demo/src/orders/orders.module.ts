import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { CatalogModule } from '../catalog/catalog.module';
import { PaymentsModule } from '../payments/payments.module';
import { CheckoutService } from './checkout.service';
import { OrdersController } from './orders.controller';
import { OrdersService } from './orders.service';
import { OrdersStore } from './orders.store';
import { PrepayService } from './prepay.service';

@Module({
  imports: [AuthModule, CatalogModule, PaymentsModule],
  controllers: [OrdersController],
  providers: [CheckoutService, OrdersService, OrdersStore, PrepayService],
})
export class OrdersModule {}
