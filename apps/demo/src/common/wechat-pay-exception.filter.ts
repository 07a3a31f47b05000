import {
  Catch,
  HttpStatus,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { Response } from 'express';
import { WechatPayError } from 'nestjs-wechat-pay-v2';

/**
 * Turns library errors that escape a handler into clear JSON answers. The raw WeChat body stays
 * in the server log's error code only; the client gets the code, whether a retry can help, and a
 * message with no secret in it (library messages never carry one).
 */
@Catch(WechatPayError)
export class WechatPayExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('WechatPay');

  catch(error: WechatPayError, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const status = statusFor(error);
    this.logger.warn(
      `${error.name} (${error.code}${error.retryable ? ', retryable' : ''}): ${error.message}`,
    );
    response.status(status).json({
      statusCode: status,
      error: error.code,
      message: messageFor(error),
      retryable: error.retryable,
    });
  }
}

function statusFor(error: WechatPayError): number {
  switch (error.code) {
    case 'LOGIN':
      return HttpStatus.UNAUTHORIZED;
    case 'REQUEST_INVALID':
      return HttpStatus.BAD_REQUEST;
    case 'BUSINESS':
      return error.retryable ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.CONFLICT;
    default:
      return error.retryable ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.BAD_GATEWAY;
  }
}

function messageFor(error: WechatPayError): string {
  if (error.code === 'LOGIN')
    return 'the login code is invalid, expired or already used: call wx.login again';
  if (error.retryable)
    return `the payment service is temporarily unavailable (${error.message}); retry later`;
  return error.message;
}
