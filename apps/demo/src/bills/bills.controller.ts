import {
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
import { AdminGuard } from '../admin/admin.guard';
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
  constructor(private readonly bills: BillReconcileService) {}

  /** The date's run and every discrepancy stored for it; 404 when it never ran. */
  @Get(':date')
  async get(@Param('date', BillDatePipe) date: string): Promise<BillRunView> {
    const report = await this.bills.report(date);
    if (!report) throw new NotFoundException(`no bill run for ${date}`);
    return billRunView(report);
  }

  /**
   * Runs the date now and answers its result: 409 while another instance runs it, 503 when
   * WeChat has no bill for it yet; a WeChat failure answers as the API's other WeChat errors do.
   */
  @Post(':date/reconcile')
  @HttpCode(200)
  async reconcile(@Param('date', BillDatePipe) date: string): Promise<BillRunView> {
    try {
      return billRunView(await this.bills.reconcile(date, 'admin'));
    } catch (error) {
      if (error instanceof BillRunBusyError) throw new ConflictException(error.message);
      if (error instanceof BillNotReadyError) throw new ServiceUnavailableException(error.message);
      throw error;
    }
  }
}
