import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import Redis from 'ioredis';
import { DEMO_CONFIG, type DemoConfig } from '../config/demo.config';
import { rateLimitOptions } from './rate-limit.options';
import { RateLimitGuard } from './rate-limit.guard';

export const RATE_LIMIT_REDIS = Symbol('RATE_LIMIT_REDIS');

/** How long start-up waits for Redis; past it the app starts and requests go unlimited until it answers. */
const REDIS_READY_MS = 2000;
const REDIS_LOG_INTERVAL_MS = 10_000;

async function connectRedis(config: DemoConfig): Promise<Redis | null> {
  const { redisUrl, redisKeyPrefix } = config.rateLimit;
  if (!redisUrl) return null;
  const logger = new Logger('RateLimit');
  const redis = new Redis(redisUrl, {
    keyPrefix: redisKeyPrefix,
    // Fail fast rather than queue: a request waits for at most one reconnect attempt.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
  let loggedAt = 0;
  redis.on('error', (error: Error) => {
    const now = Date.now();
    if (now - loggedAt < REDIS_LOG_INTERVAL_MS) return;
    loggedAt = now;
    logger.warn(`Redis for rate limits: ${error.message}`);
  });
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    redis.once('ready', resolve);
    timer = setTimeout(resolve, REDIS_READY_MS);
  });
  clearTimeout(timer);
  return redis;
}

@Injectable()
class RedisConnection implements OnApplicationShutdown {
  constructor(@Inject(RATE_LIMIT_REDIS) private readonly redis: Redis | null) {}

  async onApplicationShutdown(): Promise<void> {
    if (!this.redis) return;
    await this.redis.quit().catch(() => this.redis?.disconnect());
  }
}

@Module({
  providers: [
    { provide: RATE_LIMIT_REDIS, inject: [DEMO_CONFIG], useFactory: connectRedis },
    RedisConnection,
  ],
  exports: [RATE_LIMIT_REDIS],
})
class RateLimitStorageModule {}

/**
 * Rate limits on the routes that call WeChat (login, order creation), counted in this process, or
 * in Redis when REDIS_URL is set so that every instance shares them. Routes opt in with
 * `@RateLimited(...)`.
 */
@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStorageModule],
      inject: [DEMO_CONFIG, RATE_LIMIT_REDIS],
      useFactory: (config: DemoConfig, redis: Redis | null) =>
        rateLimitOptions(config, redis ? new ThrottlerStorageRedisService(redis) : undefined),
    }),
  ],
  providers: [RateLimitGuard],
  exports: [ThrottlerModule, RateLimitGuard],
})
export class RateLimitModule {}
