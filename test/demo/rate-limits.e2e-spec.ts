import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { issueToken } from '../../apps/demo/src/auth/session-token';
import { SessionEntity } from '../../apps/demo/src/auth/session.entity';
import { UserEntity } from '../../apps/demo/src/auth/user.entity';
import { DemoHarness, freePort, type DemoInstance, type Shopper } from './harness';

const REDIS_URL = 'redis://127.0.0.1:6379';

/** POST /api/auth/login with a fresh wx.login code, on the given instance. */
async function login(harness: DemoHarness, instance: DemoInstance = harness.primary) {
  const { code } = harness.simulator.controls.login({});
  return instance.http().post('/api/auth/login').send({ code });
}

function order(instance: DemoInstance, shopper: Shopper) {
  return instance
    .http()
    .post('/api/orders')
    .set(shopper.auth)
    .send({ items: [{ productId: 5, quantity: 1 }] });
}

/**
 * A session stored the way login stores one, without spending a login: the login limit of these
 * suites is low on purpose.
 */
async function sessionFor(harness: DemoHarness): Promise<Shopper> {
  const openid = `o-rate-${randomBytes(6).toString('hex')}`;
  const users = harness.dataSource.getRepository(UserEntity);
  const user = await users.save(users.create({ openid, createdAt: Date.now() }));
  const { token, sessionId } = issueToken(harness.primary.config.sessionSecret);
  await harness.dataSource.getRepository(SessionEntity).insert({
    id: sessionId,
    userId: user.id,
    createdAt: Date.now(),
    expiresAt: Date.now() + 3600_000,
  });
  return { openid, token, auth: { Authorization: `Bearer ${token}` } };
}

function expectLimited(res: { status: number; headers: Record<string, string>; body: unknown }) {
  expect(res.status).toBe(429);
  expect(res.body).toMatchObject({ statusCode: 429, error: 'RATE_LIMITED', retryable: true });
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

describe('demo rate limits, counted in the process', () => {
  let harness: DemoHarness;

  beforeAll(async () => {
    harness = await DemoHarness.start({
      env: {
        RATE_LIMIT_LOGIN_PER_IP: '3',
        RATE_LIMIT_ORDERS_PER_USER: '2',
        RATE_LIMIT_ORDERS_PER_IP: '3',
      },
    });
  });

  afterAll(() => harness?.close());

  it('answers 429 with Retry-After once an IP has logged in as often as allowed', async () => {
    for (let i = 0; i < 3; i++) expect((await login(harness)).status).toBe(200);
    expectLimited(await login(harness));
  });

  it('limits order creation per user first, then per IP, before calling WeChat', async () => {
    // Tokens come straight from the sessions table: the login limit above is spent.
    const [alice, bob] = await Promise.all([sessionFor(harness), sessionFor(harness)]);
    const ordersAtWechat = () => harness.simulator.controls.orders().length;
    const before = ordersAtWechat();

    expect((await order(harness.primary, alice)).status).toBe(201);
    expect((await order(harness.primary, alice)).status).toBe(201);
    expectLimited(await order(harness.primary, alice));
    // Bob is another user on the same address: his own limit is untouched, the address's is not.
    expect((await order(harness.primary, bob)).status).toBe(201);
    expectLimited(await order(harness.primary, bob));

    expect(ordersAtWechat()).toBe(before + 3);
    const list = await harness.http().get('/api/orders').set(alice.auth).expect(200);
    expect(list.body).toMatchObject({ total: 2 });
  });

  it('leaves routes without a limit alone', async () => {
    for (let i = 0; i < 10; i++) await harness.http().get('/api/products').expect(200);
  });
});

describe('demo rate limits, shared in Redis by two instances', () => {
  const prefix = `demo-e2e-${randomBytes(6).toString('hex')}:`;
  let redis: Redis;
  let harness: DemoHarness;
  let second: DemoInstance;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    harness = await DemoHarness.start({
      env: {
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        RATE_LIMIT_LOGIN_PER_IP: '3',
        RATE_LIMIT_ORDERS_PER_USER: '2',
      },
    });
    second = await harness.addInstance();
  });

  afterAll(async () => {
    await harness?.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('refuses the fourth login on either instance after three spread over both', async () => {
    expect((await login(harness, harness.primary)).status).toBe(200);
    expect((await login(harness, second)).status).toBe(200);
    expect((await login(harness, harness.primary)).status).toBe(200);
    expectLimited(await login(harness, second));
    expectLimited(await login(harness, harness.primary));

    const keys = await redis.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    // Every counter lives under the configured prefix, none at the top level of the database.
    expect(keys).toEqual(expect.arrayContaining([expect.stringMatching(/:login\}:hits$/)]));
    expect(await redis.keys('{*:login}:hits')).toEqual([]);
  });

  it('counts one user’s orders across both instances', async () => {
    const shopper = await sessionFor(harness);

    expect((await order(harness.primary, shopper)).status).toBe(201);
    expect((await order(second, shopper)).status).toBe(201);
    expectLimited(await order(harness.primary, shopper));
    expectLimited(await order(second, shopper));
  });
});

describe('demo rate limits when Redis cannot be reached', () => {
  let harness: DemoHarness;

  beforeAll(async () => {
    harness = await DemoHarness.start({
      env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, RATE_LIMIT_LOGIN_PER_IP: '1' },
    });
  });

  afterAll(() => harness?.close());

  it('lets requests through rather than failing login', async () => {
    for (let i = 0; i < 3; i++) expect((await login(harness)).status).toBe(200);
  });
});

describe('demo rate-limit window', () => {
  let harness: DemoHarness;

  beforeAll(async () => {
    harness = await DemoHarness.start({
      env: { RATE_LIMIT_LOGIN_PER_IP: '1', RATE_LIMIT_WINDOW_MS: '1000' },
    });
  });

  afterAll(() => harness?.close());

  it('allows the address again once the window has passed', async () => {
    expect((await login(harness)).status).toBe(200);
    const limited = await login(harness);
    expectLimited(limited);
    expect(limited.headers['retry-after']).toBe('1');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await login(harness)).status).toBe(200);
  });
});
