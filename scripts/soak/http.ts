/** One HTTP exchange as the soak saw it; `status` 0 means no answer (refused, reset, timed out). */
export interface Answer<T = unknown> {
  status: number;
  body: T | undefined;
  text: string;
  /** The demo instance that answered, as the load balancer reports it. */
  upstream?: string;
  /** The load balancer answered itself because the instance failed mid-request. */
  fromBalancer: boolean;
  /** Why there was no answer. */
  error?: string;
  /** Retry-After of a 429 or 503, in milliseconds. */
  retryAfterMs?: number;
  at: number;
  ms: number;
}

export interface CallOptions {
  method?: string;
  json?: unknown;
  body?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** The header the soak's load balancer adds to name the instance that answered. */
export const UPSTREAM_HEADER = 'x-soak-upstream';
/** The header the load balancer adds to an answer it made itself. */
export const BALANCER_HEADER = 'x-soak-balancer';

function errorCode(error: unknown): string {
  // Duck-typed: fetch's abort reason is a DOMException, not always an instance of this realm's Error.
  const e = error as { name?: unknown; message?: unknown; cause?: { code?: unknown } } | null;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout';
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return typeof e?.message === 'string' ? e.message : String(error);
}

export async function call<T = unknown>(
  url: string,
  options: CallOptions = {},
): Promise<Answer<T>> {
  const at = Date.now();
  const headers: Record<string, string> = { ...options.headers };
  let body = options.body;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  try {
    const res = await fetch(url, {
      method: options.method ?? 'GET',
      headers,
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let parsed: T | undefined;
    if ((res.headers.get('content-type') ?? '').includes('json')) {
      try {
        parsed = JSON.parse(text) as T;
      } catch {
        parsed = undefined;
      }
    }
    const retryAfter = Number(res.headers.get('retry-after'));
    return {
      status: res.status,
      body: parsed,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 && { retryAfterMs: retryAfter * 1000 }),
      text,
      upstream: res.headers.get(UPSTREAM_HEADER) ?? undefined,
      fromBalancer: res.headers.has(BALANCER_HEADER),
      at,
      ms: Date.now() - at,
    };
  } catch (error) {
    return {
      status: 0,
      body: undefined,
      text: '',
      fromBalancer: false,
      error: errorCode(error),
      at,
      ms: Date.now() - at,
    };
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How an answer is tallied: its status, `balancer 502`, or `no answer (<reason>)`. */
export function outcomeOf(answer: Answer): string {
  if (answer.status === 0) return `no answer (${answer.error ?? 'unknown'})`;
  if (answer.fromBalancer) return `balancer ${answer.status}`;
  return String(answer.status);
}

export interface ServerError {
  at: number;
  route: string;
  status: number;
  upstream?: string;
}

/** Answers per route and outcome, plus the time of every 5xx an instance itself sent. */
export class HttpTally {
  readonly byRoute = new Map<string, Map<string, number>>();
  readonly serverErrors: ServerError[] = [];

  record(route: string, answer: Answer): void {
    const outcomes = this.byRoute.get(route) ?? new Map<string, number>();
    const key = outcomeOf(answer);
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    this.byRoute.set(route, outcomes);
    if (answer.status >= 500 && !answer.fromBalancer) {
      // When the answer came: a request already in flight when an outage began fails inside it.
      this.serverErrors.push({
        at: answer.at + answer.ms,
        route,
        status: answer.status,
        upstream: answer.upstream,
      });
    }
  }

  count(status: number): number {
    return this.serverErrors.filter((e) => e.status === status).length;
  }
}
