import {
  BadRequestException,
  ConflictException,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  ServiceUnavailableException,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { WechatPayReturnError } from 'nestjs-wechat-pay-v2';
import { AdminGuard } from '../admin/admin.guard';
import { Clock } from '../clock';
import { beijingDate } from './bill-date';
import { BillDatePipe } from './bill-date.pipe';
import {
  BillNotReadyError,
  BillReconcileService,
  BillRunBusyError,
} from './bill-reconcile.service';
import { billRunView, type BillRunView } from './bills.dto';

/** The admin API of the daily bill reconciliation (ADMIN_TOKEN). */
@ApiTags('admin')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('api/admin/bills')
export class BillsController {
  constructor(
    private readonly bills: BillReconcileService,
    private readonly clock: Clock,
  ) {}

  /** The date's run and every discrepancy stored for it; 404 when it never ran. */
  @Get(':date')
  async get(@Param('date', BillDatePipe) date: string): Promise<BillRunView> {
    const report = await this.bills.report(date);
    if (!report) throw new NotFoundException(`no bill run for ${date}`);
    return billRunView(report);
  }

  /**
   * Runs the date now and answers its result: 409 while another instance runs it, 503 when
   * WeChat has no bill for it yet, 400 for today or a later day, and when WeChat refuses the date
   * (older than three months); another WeChat failure answers as the API's other WeChat errors do.
   */
  @Post(':date/reconcile')
  @HttpCode(200)
  async reconcile(@Param('date', BillDatePipe) date: string): Promise<BillRunView> {
    // A day that has not ended has no bill: refused before a run is stored for it.
    if (date >= beijingDate(this.clock.now())) {
      throw new BadRequestException([`${date} has not ended yet: its bill comes the day after`]);
    }
    try {
      return billRunView(await this.bills.reconcile(date, 'admin'));
    } catch (error) {
      if (error instanceof BillRunBusyError) throw new ConflictException(error.message);
      if (error instanceof BillNotReadyError) throw new ServiceUnavailableException(error.message);
      if (error instanceof WechatPayReturnError && /^invalid bill_date$/i.test(error.returnMsg)) {
        throw new BadRequestException([
          `WeChat has no bill for ${date}: bills go from three months back to yesterday (invalid bill_date)`,
        ]);
      }
      throw error;
    }
  }
}
