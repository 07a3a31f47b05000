import type { ThrottlerModuleOptions, ThrottlerStorage } from '@nestjs/throttler';
import type { AuthenticatedUser } from '../auth/auth.service';
import type { DemoConfig } from '../config/demo.config';

/** login: per client IP. orders-user: order creation per shop user. orders-ip: order creation per IP. */
export const RATE_LIMITS = ['login', 'orders-user', 'orders-ip'] as const;
export type RateLimitName = (typeof RATE_LIMITS)[number];

function userTracker(request: Record<string, unknown>): Promise<string> {
  const user = request.user as AuthenticatedUser | undefined;
  // The session guard runs first on every route using this limit; without a user the route
  // answers 401 before this is asked.
  return Promise.resolve(user ? `user:${user.id}` : 'anonymous');
}

export function rateLimitOptions(
  config: DemoConfig,
  storage: ThrottlerStorage | undefined,
): ThrottlerModuleOptions {
  const { windowMs, loginPerIp, ordersPerUser, ordersPerIp } = config.rateLimit;
  return {
    throttlers: [
      { name: 'login', ttl: windowMs, limit: loginPerIp },
      { name: 'orders-user', ttl: windowMs, limit: ordersPerUser, getTracker: userTracker },
      { name: 'orders-ip', ttl: windowMs, limit: ordersPerIp },
    ],
    // The guard sends the standard Retry-After; the per-limit X-RateLimit-* headers add nothing.
    setHeaders: false,
    storage,
  };
}
