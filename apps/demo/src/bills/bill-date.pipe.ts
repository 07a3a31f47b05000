import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { isBillDate } from './bill-date';

/** A bill date in the path: a real calendar date written yyyyMMdd, or 400. */
@Injectable()
export class BillDatePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isBillDate(value)) {
      throw new BadRequestException(['date must be a calendar date written yyyyMMdd']);
    }
    return value;
  }
}
