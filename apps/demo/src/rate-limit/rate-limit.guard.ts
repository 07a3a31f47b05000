import { Injectable, Logger, type ExecutionContext } from '@nestjs/common';
import {
  ThrottlerException,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerRequest,
} from '@nestjs/throttler';
import type { Response } from 'express';

/** At most one line per this many milliseconds while the counter store is unreachable. */
const STORE_LOG_INTERVAL_MS = 10_000;

/**
 * The throttler guard with two house rules: a refused request carries the standard `Retry-After`
 * (the throttler's own header is suffixed with the limit's name), and a counter store that cannot
 * be reached lets requests through. Rate limits protect WeChat from abuse; a Redis outage must
 * not take login and checkout down with it.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly log = new Logger('RateLimit');
  private storeLoggedAt = 0;

  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    try {
      return await super.handleRequest(request);
    } catch (error) {
      if (error instanceof ThrottlerException) throw error;
      const now = Date.now();
      if (now - this.storeLoggedAt >= STORE_LOG_INTERVAL_MS) {
        this.storeLoggedAt = now;
        this.log.warn(
          `rate-limit counters unavailable (${error instanceof Error ? error.message : String(error)}); requests are not limited meanwhile`,
        );
      }
      return true;
    }
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const response = context.switchToHttp().getResponse<Response>();
    response.setHeader('Retry-After', String(Math.max(1, detail.timeToBlockExpire)));
    await super.throwThrottlingException(context, detail);
  }
}
