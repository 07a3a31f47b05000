import { applyDecorators, UseGuards } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import { RATE_LIMITS, type RateLimitName } from './rate-limit.options';
import { RateLimitGuard } from './rate-limit.guard';

/**
 * Counts this route against the named limits only. Placed on a method, the guard runs after the
 * controller's guards, so a per-user limit sees the authenticated user.
 */
export function RateLimited(...names: RateLimitName[]): MethodDecorator {
  const skipped = RATE_LIMITS.filter((name) => !names.includes(name));
  return applyDecorators(
    SkipThrottle(Object.fromEntries(skipped.map((name) => [name, true]))),
    UseGuards(RateLimitGuard),
  );
}
