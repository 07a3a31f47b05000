import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import type { AuthenticatedUser } from '../auth/auth.service';
import { RateLimited } from '../rate-limit/rate-limit.decorator';
import { CurrentUser, SessionGuard } from '../auth/session.guard';
import {
  CheckoutDto,
  CreateOrderDto,
  ListOrdersQueryDto,
  OrderDto,
  OrderPageDto,
} from './orders.dto';
import { CheckoutService } from './checkout.service';
import { OrderNoPipe } from './order-no.pipe';
import { OrdersService } from './orders.service';

/** spbill_create_ip: the user's address as this server sees it (IPv4-mapped IPv6 unwrapped). */
function clientIp(request: Request): string {
  const address = request.ip ?? request.socket.remoteAddress ?? '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

@ApiTags('orders')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('api/orders')
export class OrdersController {
  constructor(
    private readonly checkout: CheckoutService,
    private readonly orders: OrdersService,
  ) {}

  @Post()
  @RateLimited('orders-user', 'orders-ip')
  @ApiOkResponse({ type: CheckoutDto })
  create(
    @CurrentUser() user: AuthenticatedUser,
    @Body() body: CreateOrderDto,
    @Req() req: Request,
  ) {
    return this.checkout.create(user, body.items, clientIp(req));
  }

  @Get()
  @ApiOkResponse({ type: OrderPageDto })
  list(@CurrentUser() user: AuthenticatedUser, @Query() query: ListOrdersQueryDto) {
    return this.orders.list(user, query.page ?? 1, query.pageSize ?? 20);
  }

  @Get(':orderNo')
  @ApiOkResponse({ type: OrderDto })
  get(@CurrentUser() user: AuthenticatedUser, @Param('orderNo', OrderNoPipe) orderNo: string) {
    return this.orders.get(user, orderNo);
  }

  @Post(':orderNo/pay')
  @HttpCode(200)
  @ApiOkResponse({ type: CheckoutDto })
  pay(
    @CurrentUser() user: AuthenticatedUser,
    @Param('orderNo', OrderNoPipe) orderNo: string,
    @Req() req: Request,
  ) {
    return this.checkout.pay(user, orderNo, clientIp(req));
  }

  @Post(':orderNo/cancel')
  @HttpCode(200)
  @ApiOkResponse({ type: OrderDto })
  cancel(@CurrentUser() user: AuthenticatedUser, @Param('orderNo', OrderNoPipe) orderNo: string) {
    return this.orders.cancel(user, orderNo);
  }
}
