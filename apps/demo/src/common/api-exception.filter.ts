import { Catch, HttpStatus, Logger, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { ThrottlerException } from '@nestjs/throttler';
import type { Response } from 'express';
import { WechatPayError } from 'nestjs-wechat-pay-v2';
import { databaseUnavailableReason } from './database-errors';
import { PaymentNotReadyError } from './payment-not-ready.error';

/** Every error answer the filter writes: what happened, and whether sending it again can help. */
export interface ApiErrorBody {
  statusCode: number;
  error: string;
  message: string;
  retryable: boolean;
  orderNo?: string;
  retryPath?: string;
}

/** One line per this many milliseconds at most while the database stays down. */
const DATABASE_LOG_INTERVAL_MS = 1000;

/**
 * Turns the failures a client can act on into clear JSON answers of one shape: WeChat errors (the
 * raw WeChat body stays out of the answer, library messages carry no secret), an unreachable
 * database (503, retryable), rate limits (429) and an order whose payment could not be prepared
 * (with its number and a retry path). Everything else goes to Nest's default handling.
 */
@Catch()
export class ApiExceptionFilter extends BaseExceptionFilter {
  private readonly logger = new Logger('Api');
  private databaseLoggedAt = 0;
  private databaseSuppressed = 0;

  override catch(exception: unknown, host: ArgumentsHost): void {
    const body = this.bodyFor(exception);
    if (!body) {
      super.catch(exception instanceof PaymentNotReadyError ? exception.cause : exception, host);
      return;
    }
    const response = host.switchToHttp().getResponse<Response>();
    if (response.headersSent) {
      response.end();
      return;
    }
    response.status(body.statusCode).json(body);
  }

  private bodyFor(exception: unknown): ApiErrorBody | undefined {
    if (exception instanceof PaymentNotReadyError) {
      const body = this.bodyFor(exception.cause);
      if (!body) return undefined;
      return {
        ...body,
        orderNo: exception.orderNo,
        ...(body.retryable ? { retryPath: exception.retryPath } : {}),
      };
    }
    if (exception instanceof WechatPayError) return this.wechatPay(exception);
    if (exception instanceof ThrottlerException) {
      return {
        statusCode: HttpStatus.TOO_MANY_REQUESTS,
        error: 'RATE_LIMITED',
        message: 'too many requests: wait for the time in Retry-After, then try again',
        retryable: true,
      };
    }
    const reason = databaseUnavailableReason(exception);
    if (reason !== undefined) {
      this.logDatabase(reason);
      return {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        error: 'DATABASE_UNAVAILABLE',
        message: 'the shop cannot reach its database right now; retry shortly',
        retryable: true,
      };
    }
    return undefined;
  }

  private wechatPay(error: WechatPayError): ApiErrorBody {
    this.logger.warn(
      `${error.name} (${error.code}${error.retryable ? ', retryable' : ''}): ${error.message}`,
    );
    return {
      statusCode: wechatPayStatus(error),
      error: error.code,
      message: wechatPayMessage(error),
      retryable: error.retryable,
    };
  }

  /** A database outage fails every request at once: one line, with a count, instead of a stack each. */
  private logDatabase(reason: string): void {
    const now = Date.now();
    if (now - this.databaseLoggedAt < DATABASE_LOG_INTERVAL_MS) {
      this.databaseSuppressed++;
      return;
    }
    const more =
      this.databaseSuppressed > 0 ? ` (${this.databaseSuppressed} more since the last line)` : '';
    this.logger.warn(`database unavailable (${reason}): answered 503${more}`);
    this.databaseLoggedAt = now;
    this.databaseSuppressed = 0;
  }
}

function wechatPayStatus(error: WechatPayError): number {
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

function wechatPayMessage(error: WechatPayError): string {
  if (error.code === 'LOGIN')
    return 'the login code is invalid, expired or already used: call wx.login again';
  if (error.retryable)
    return `the payment service is temporarily unavailable (${error.message}); retry later`;
  return error.message;
}
