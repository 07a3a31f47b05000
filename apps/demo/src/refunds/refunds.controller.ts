import { Body, Controller, Get, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../admin/admin.guard';
import { OrderNoPipe } from '../orders/order-no.pipe';
import { AdminOrderRefundsDto, CreateRefundDto, RefundCreatedDto } from './refunds.dto';
import { RefundsService } from './refunds.service';

@ApiTags('admin')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('api/admin/orders/:orderNo/refunds')
export class RefundsController {
  constructor(private readonly refunds: RefundsService) {}

  /**
   * 201 with the refund's status: PROCESSING (WeChat accepted it), PENDING (WeChat's answer is not
   * known: the shop sends it again with the same number) or CLOSED (WeChat refused it).
   */
  @Post()
  @ApiCreatedResponse({ type: RefundCreatedDto })
  create(@Param('orderNo', OrderNoPipe) orderNo: string, @Body() body: CreateRefundDto) {
    return this.refunds.create(orderNo, body.amountFen, body.reason);
  }

  @Get()
  @ApiOkResponse({ type: AdminOrderRefundsDto })
  list(@Param('orderNo', OrderNoPipe) orderNo: string) {
    return this.refunds.list(orderNo);
  }
}
