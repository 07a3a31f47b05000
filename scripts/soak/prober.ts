import { call, outcomeOf, sleep } from './http';

export interface ProbeResult {
  at: number;
  instance: string;
  /** `200`, `503`, `no answer (ECONNREFUSED)`, ... */
  outcome: string;
  /** The body's `database` and `gateway` fields, when it has them. */
  database?: string;
  gateway?: string;
}

export interface InstanceAddress {
  name: string;
  url: string;
}

/**
 * GET /health on every instance once a second, straight to the instance the way a load balancer's
 * health check does, for the whole run.
 */
export class HealthProber {
  readonly results: ProbeResult[] = [];
  private stopped = false;
  private loop?: Promise<void>;

  constructor(private readonly instances: InstanceAddress[]) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        const tick = Date.now();
        await Promise.all(this.instances.map((i) => this.probe(i)));
        await sleep(Math.max(0, 1000 - (Date.now() - tick)));
      }
    })();
  }

  private async probe(instance: InstanceAddress): Promise<void> {
    const answer = await call<Record<string, unknown>>(`${instance.url}/health`, {
      timeoutMs: 5000,
    });
    // Plain `{ database: 'up' }` or nested the way @nestjs/terminus reports (`details.database.status`).
    const field = (name: string): string | undefined => {
      const body = answer.body ?? {};
      for (const value of [
        body[name],
        (body.details as Record<string, unknown> | undefined)?.[name],
      ]) {
        if (typeof value === 'string') return value;
        const status = (value as { status?: unknown } | undefined)?.status;
        if (typeof status === 'string') return status;
      }
      return undefined;
    };
    this.results.push({
      at: answer.at,
      instance: instance.name,
      outcome: outcomeOf(answer),
      database: field('database'),
      gateway: field('gateway'),
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

export interface Recovery {
  instance: string;
  /** Milliseconds from the kill to the first 200; undefined if none came within the limit. */
  recoveredAfterMs?: number;
  /** What the instance answered before that 200, in order, repeats counted. */
  before: { outcome: string; count: number }[];
}

/**
 * After the database connections are killed: GET /api/orders (a query, no WeChat call) straight to
 * every instance every 50 ms until it answers 200.
 */
export async function measureRecovery(
  instances: InstanceAddress[],
  token: string,
  killedAt: number,
  limitMs: number,
): Promise<Recovery[]> {
  return Promise.all(
    instances.map(async (instance): Promise<Recovery> => {
      const before: Recovery['before'] = [];
      while (Date.now() - killedAt < limitMs) {
        const answer = await call(`${instance.url}/api/orders?page=1&pageSize=1`, {
          headers: { authorization: `Bearer ${token}` },
          timeoutMs: 5000,
        });
        if (answer.status === 200)
          return {
            instance: instance.name,
            recoveredAfterMs: answer.at + answer.ms - killedAt,
            before,
          };
        const outcome = outcomeOf(answer);
        const last = before[before.length - 1];
        if (last?.outcome === outcome) last.count++;
        else before.push({ outcome, count: 1 });
        await sleep(50);
      }
      return { instance: instance.name, before };
    }),
  );
}
