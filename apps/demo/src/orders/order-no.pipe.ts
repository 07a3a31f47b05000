import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';

/**
 * WeChat's out_trade_no alphabet and length. Anything else cannot be one of our orders, and some of
 * it (a NUL byte, say) cannot even be sent to PostgreSQL, so it is refused before any query.
 */
const ORDER_NO = /^[A-Za-z0-9_\-|*@]{1,32}$/;

@Injectable()
export class OrderNoPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!ORDER_NO.test(value)) {
      throw new BadRequestException(['orderNo must be 1 to 32 letters, digits or _ - | * @']);
    }
    return value;
  }
}
