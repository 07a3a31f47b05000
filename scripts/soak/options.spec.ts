import { parseSoakOptions, SoakOptionsError } from './options';

describe('soak options', () => {
  it('defaults to three instances on PostgreSQL, 240 s and 8 orders per second of load', () => {
    expect(parseSoakOptions([], {})).toMatchObject({
      database: 'postgres',
      instances: 3,
      durationS: 240,
      orders: 1920,
      dropRate: 0.3,
      systemErrorRate: 0.1,
      copies: 100,
      waitForExpiry: true,
    });
  });

  it('lets a flag win over its environment variable', () => {
    const options = parseSoakOptions(['--duration', '600', '--orders=25000'], {
      SOAK_DURATION: '60',
      SOAK_USERS: '50',
    });
    expect(options).toMatchObject({ durationS: 600, orders: 25000, users: 50 });
  });

  it('runs SQLite with one instance and refuses more', () => {
    expect(parseSoakOptions(['--db', 'sqlite'], {})?.instances).toBe(1);
    expect(() => parseSoakOptions(['--db', 'sqlite', '--instances', '3'], {})).toThrow(
      '--instances must be 1 with --db sqlite',
    );
  });

  it('refuses unknown flags and out-of-range values, naming the flag', () => {
    expect(() => parseSoakOptions(['--fast'], {})).toThrow(SoakOptionsError);
    expect(() => parseSoakOptions(['--drop-rate', '1.5'], {})).toThrow('--drop-rate');
    expect(() => parseSoakOptions([], { SOAK_INSTANCES: 'three' })).toThrow('--instances');
    expect(() => parseSoakOptions(['--order-ttl', '5'], {})).toThrow('--order-ttl');
  });

  it('collects extra variables for the instances and the simulator', () => {
    const options = parseSoakOptions(
      [
        '--app-env',
        'THROTTLE_LIMIT=100000',
        '--simulator-env',
        'SIMULATOR_X=1',
        '--app-env',
        'A=b=c',
      ],
      {},
    );
    expect(options?.appEnv).toEqual({ THROTTLE_LIMIT: '100000', A: 'b=c' });
    expect(options?.simulatorEnv).toEqual({ SIMULATOR_X: '1' });
    expect(() => parseSoakOptions(['--app-env', 'lower=1'], {})).toThrow('NAME=VALUE');
  });

  it('answers undefined to --help', () => {
    expect(parseSoakOptions(['--help'], {})).toBeUndefined();
  });
});
