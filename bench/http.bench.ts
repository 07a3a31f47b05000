/**
 * `npm run bench:http`: requests per second, p99 latency, CPU and memory of the demo's payment
 * paths, each as a ratio to a bare Nest route measured in the same run on the same machine.
 *
 * Every server runs in its own process from plain JavaScript (see http/compile.ts); autocannon
 * drives it from this process over keep-alive connections. All servers start first and are warmed
 * up; then each round drives every line in turn with the bare route before and after each one,
 * and a line's ratio in a round is its rate over the mean of those two bare runs: load from
 * elsewhere on the machine hits both alike. The median round is reported, with the range.
 * Idle RSS is read after start-up, before the first request; peak RSS is the highest sample
 * (every 25 ms) while the line is driven.
 *
 * Lines: the bare route; the library's notify endpoint with a handler that does nothing; the demo
 * settling payment notifications (each for a different unpaid order) on PostgreSQL and SQLite;
 * checkout (POST /api/orders, unifiedorder at the simulator in its own process) on both databases.
 *
 * Environment: BENCH_ROUNDS (default 3), BENCH_DURATION_S (per round, default 3), BENCH_WARMUP_S
 * (default 2), BENCH_CONNECTIONS (default 16), BENCH_POSTGRES_URL (default DATABASE_URL when it
 * is postgres://, else postgres://postgres@127.0.0.1:5432/postgres), BENCH_ONLY (comma-separated
 * line keys), BENCH_CPU_PROFILE_DIR (every server writes a V8 CPU profile there on exit).
 */
import { mkdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { TEST_MERCHANT } from 'wechat-pay-v2-simulator';
import { compileServers } from './http/compile';
import {
  createPostgresDatabase,
  createSqliteDatabase,
  libraryNotification,
  unpaidOrdersWithNotifications,
  type BenchDatabase,
} from './http/fixtures';
import { cpuMsOf, ServerProcess } from './http/processes';

const REPO = resolve(__dirname, '..');
const BUILD = join(REPO, 'dist', 'bench');
const LOGS = join(BUILD, 'logs');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 3);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const POSTGRES_URL =
  process.env.BENCH_POSTGRES_URL ??
  (/^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '')
    ? (process.env.DATABASE_URL as string)
    : 'postgres://postgres@127.0.0.1:5432/postgres');
const ONLY = process.env.BENCH_ONLY?.split(',').map((key) => key.trim());
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROFILE_DIR
  ? resolve(process.env.BENCH_CPU_PROFILE_DIR)
  : undefined;
/** Enough distinct orders that the demo never runs out, even at 4000 notifications a second. */
const NOTIFY_ORDERS = Math.ceil(4000 * (WARMUP_S + ROUNDS * DURATION_S));
const CHECKOUT_USERS = 32;
const SESSION_SECRET = 'bench-http-session-secret-0123456789';

/** A running server ready to be driven, and what to check once it has been. */
interface Prepared {
  server: ServerProcess;
  port: number;
  requests: autocannon.Request[];
  replies: ReplyCheck;
  usesPostgres: boolean;
  /** PostgreSQL lines: the server processes of the line's database, whose CPU is reported too. */
  postgresBackends?: () => Promise<number[]>;
  /** The simulator, for the lines that call it: its CPU is reported beside the server's. */
  simulator?: ServerProcess;
  /** Problems found in the server's database after the rounds. */
  verify?: () => Promise<string[]>;
  teardown(): Promise<void>;
}

interface Line {
  key: string;
  label: string;
  prepare(): Promise<Prepared | string>;
}

interface Round {
  rps: number;
  p99Ms: number;
  requests: number;
  cpuMs: number;
  postgresCpuMs: number;
  simulatorCpuMs: number;
  /** To the bare route measured just before and just after. */
  ratio?: number;
}

interface Measured {
  key: string;
  label: string;
  rounds: Round[];
  idleRss: number;
  peakRss: number;
  usesPostgres: boolean;
  usesSimulator: boolean;
  checks: string[];
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

function start(name: string, script: string, port: number, env: Record<string, string>) {
  return ServerProcess.start({
    name,
    script: join(BUILD, script),
    port,
    env,
    logDir: LOGS,
    buildDir: BUILD,
    cpuProfileDir: name === 'simulator' ? undefined : CPU_PROFILE_DIR,
  });
}

/** Replies autocannon cannot judge by status alone (a notification FAIL is an HTTP 200). */
class ReplyCheck {
  unexpected = 0;
  sample?: string;

  expect(predicate: (status: number, body: string) => boolean) {
    return (status: number, body: string) => {
      if (predicate(status, body)) return;
      this.unexpected++;
      this.sample ??= `${status} ${body.slice(0, 160)}`;
    };
  }
}

const notifySucceeded = (status: number, body: string) =>
  status === 200 && body.includes('<![CDATA[SUCCESS]]>');

function xmlPost(path: string, replies: ReplyCheck, body: string): autocannon.Request {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'text/xml' },
    body,
    onResponse: replies.expect(notifySucceeded),
  };
}

/** A server of its own answering one XML POST path with the library's signed notification. */
function xmlServerLine(key: string, label: string, script: string, path: string): Line {
  return {
    key,
    label,
    async prepare() {
      const port = await freePort();
      const server = await start(key, script, port, { BENCH_PORT: String(port) });
      const replies = new ReplyCheck();
      return {
        server,
        port,
        requests: [xmlPost(path, replies, libraryNotification())],
        replies,
        usesPostgres: false,
        teardown: () => server.stop(),
      };
    },
  };
}

const bareLine = () =>
  xmlServerLine('bare', 'bare Nest route (baseline)', 'bench/http/bare-server.js', '/bare');

const libraryLine = () =>
  xmlServerLine(
    'library',
    'library notify endpoint, no-op handler',
    'bench/http/notify-server.js',
    '/wechat-pay/notify',
  );

type DatabaseKind = 'postgres' | 'sqlite';
const databaseName = (kind: DatabaseKind) => (kind === 'postgres' ? 'PostgreSQL' : 'SQLite');

function benchDatabase(kind: DatabaseKind, key: string): Promise<BenchDatabase | undefined> {
  return kind === 'postgres'
    ? createPostgresDatabase(POSTGRES_URL)
    : createSqliteDatabase(join(tmpdir(), `bench-${key}-${process.pid}.sqlite`));
}

async function startDemo(key: string, database: BenchDatabase, wechatUrl: string) {
  const port = await freePort();
  const server = await start(key, 'apps/demo/src/main.js', port, {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    SIMULATOR: 'off',
    WECHAT_APP_ID: TEST_MERCHANT.appId,
    WECHAT_APP_SECRET: TEST_MERCHANT.appSecret,
    WECHAT_MCH_ID: TEST_MERCHANT.mchId,
    WECHAT_API_KEY: TEST_MERCHANT.apiKey,
    WECHAT_NOTIFY_URL: `http://127.0.0.1:${port}/wechat-pay/notify`,
    WECHAT_PAY_BASE_URL: wechatUrl,
    WECHAT_API_BASE_URL: wechatUrl,
    SESSION_SECRET,
    RECONCILER_ENABLED: 'off',
    // One client address places thousands of orders here: the limits must not be what is measured.
    RATE_LIMIT_LOGIN_PER_IP: '100000000',
    RATE_LIMIT_ORDERS_PER_USER: '100000000',
    RATE_LIMIT_ORDERS_PER_IP: '100000000',
  });
  return { server, port };
}

/** Every notification settled the order it names exactly once, or was a counted duplicate. */
async function verifySettlement(database: BenchDatabase): Promise<string[]> {
  const problems: string[] = [];
  const outcomes = await database.query(
    'SELECT outcome, COUNT(*) AS n FROM payment_notifications GROUP BY outcome',
  );
  const counted = new Map(outcomes.map((row) => [String(row.outcome), Number(row.n)]));
  const [{ n: fulfilled }] = await database.query('SELECT COUNT(*) AS n FROM fulfilments');
  const [{ n: paidOrders }] = await database.query(
    "SELECT COUNT(*) AS n FROM orders WHERE status = 'PAID'",
  );
  const paid = counted.get('PAID') ?? 0;
  if (paid === 0 || Number(fulfilled) !== paid || Number(paidOrders) !== paid) {
    problems.push(
      `${paid} PAID, ${String(fulfilled)} fulfilments, ${String(paidOrders)} paid orders`,
    );
  }
  for (const [outcome, n] of counted) {
    if (outcome !== 'PAID') problems.push(`${n} notifications answered ${outcome}`);
  }
  return problems;
}

function demoNotifyLine(kind: DatabaseKind): Line {
  const key = `notify-${kind}`;
  return {
    key,
    label: `demo notifications, ${databaseName(kind)}`,
    async prepare() {
      const database = await benchDatabase(kind, key);
      if (!database) return `skipped: no PostgreSQL at ${POSTGRES_URL}`;
      // Settling a notification calls no WeChat API: the hosts only have to be valid URLs.
      const { server, port } = await startDemo(key, database, 'http://127.0.0.1:9');
      const notifyUrl = `http://127.0.0.1:${port}/wechat-pay/notify`;
      const bodies = await unpaidOrdersWithNotifications(database, NOTIFY_ORDERS, notifyUrl);
      let next = 0;
      const replies = new ReplyCheck();
      return {
        server,
        port,
        requests: [
          {
            method: 'POST',
            path: '/wechat-pay/notify',
            headers: { 'content-type': 'text/xml' },
            setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }),
            onResponse: replies.expect(notifySucceeded),
          },
        ],
        replies,
        usesPostgres: kind === 'postgres',
        postgresBackends: database.backends,
        verify: () => verifySettlement(database),
        teardown: async () => {
          await server.stop();
          await database.drop();
        },
      };
    },
  };
}

async function login(demoPort: number, simulatorUrl: string, user: string): Promise<string> {
  const grant = await fetch(`${simulatorUrl}/__simulator/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  const { code } = (await grant.json()) as { code: string };
  const res = await fetch(`http://127.0.0.1:${demoPort}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  if (res.status !== 200) throw new Error(`login answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

function checkoutLine(
  kind: DatabaseKind,
  simulator: () => Promise<{ server: ServerProcess; url: string }>,
): Line {
  const key = `checkout-${kind}`;
  return {
    key,
    label: `demo checkout, ${databaseName(kind)}`,
    async prepare() {
      const database = await benchDatabase(kind, key);
      if (!database) return `skipped: no PostgreSQL at ${POSTGRES_URL}`;
      const { server: simulatorProcess, url: wechat } = await simulator();
      const { server, port } = await startDemo(key, database, wechat);
      const tokens = await Promise.all(
        Array.from({ length: CHECKOUT_USERS }, (_, i) => login(port, wechat, `bench-${i}`)),
      );
      let next = 0;
      const replies = new ReplyCheck();
      return {
        server,
        port,
        requests: [
          {
            method: 'POST',
            path: '/api/orders',
            body: JSON.stringify({ items: [{ productId: 1, quantity: 1 }] }),
            setupRequest: (request) => ({
              ...request,
              headers: {
                'content-type': 'application/json',
                authorization: `Bearer ${tokens[next++ % tokens.length]}`,
              },
            }),
            onResponse: replies.expect(
              (status, body) => status === 201 && body.includes('"paySign"'),
            ),
          },
        ],
        replies,
        usesPostgres: kind === 'postgres',
        postgresBackends: database.backends,
        simulator: simulatorProcess,
        teardown: async () => {
          await server.stop();
          await database.drop();
        },
      };
    },
  };
}

async function drive(prepared: Prepared, durationS: number): Promise<autocannon.Result> {
  return autocannon({
    url: `http://127.0.0.1:${prepared.port}`,
    connections: CONNECTIONS,
    pipelining: 1,
    timeout: 10,
    duration: durationS,
    requests: prepared.requests,
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The round with the median ratio (the median rate for the bare route): its p99 goes with it. */
function medianRound(rounds: Round[]): Round {
  const sorted = [...rounds].sort((a, b) => (a.ratio ?? a.rps) - (b.ratio ?? b.rps));
  return sorted[Math.floor(sorted.length / 2)];
}

/** A line's ratio to the bare route: the median of its rounds' ratios. */
function ratioOf(result: Measured): number {
  return result.key === 'bare' ? 1 : median(result.rounds.map((r) => r.ratio ?? 0));
}

function ratioRange(result: Measured): string {
  if (result.key === 'bare') return '';
  const ratios = result.rounds.map((r) => r.ratio ?? 0);
  return `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

function table(results: Measured[]): string[] {
  const columns: Array<[string, number]> = [
    ['line', -40],
    ['req/s', 7],
    ['ratio', 6],
    ['rounds', 10],
    ['p99 ms', 7],
    ['idle MB', 8],
    ['peak MB', 8],
    ['peak/idle', 10],
    ['CPU ms/req', 11],
    ['pg ms/req', 10],
    ['sim ms/req', 11],
  ];
  const row = (cells: string[]) =>
    cells
      .map((cell, i) => {
        const width = columns[i][1];
        return width < 0 ? cell.padEnd(-width) : cell.padStart(width);
      })
      .join(' ');
  return [
    row(columns.map(([name]) => name)),
    ...results.map((r) => {
      const m = medianRound(r.rounds);
      const requests = r.rounds.reduce((sum, round) => sum + round.requests, 0);
      const cpu = r.rounds.reduce((sum, round) => sum + round.cpuMs, 0) / requests;
      const pg = r.rounds.reduce((sum, round) => sum + round.postgresCpuMs, 0) / requests;
      const sim = r.rounds.reduce((sum, round) => sum + round.simulatorCpuMs, 0) / requests;
      return row([
        r.label,
        m.rps.toFixed(0),
        ratioOf(r).toFixed(2),
        ratioRange(r),
        m.p99Ms.toFixed(1),
        mb(r.idleRss),
        mb(r.peakRss),
        (r.peakRss / r.idleRss).toFixed(2),
        cpu.toFixed(3),
        r.usesPostgres ? pg.toFixed(3) : '',
        r.usesSimulator ? sim.toFixed(3) : '',
      ]);
    }),
  ];
}

const TARGETS: Array<{ key: string; min: number; what: string }> = [
  { key: 'notify-postgres', min: 0.27, what: 'demo notifications, PostgreSQL' },
  { key: 'checkout-postgres', min: 0.15, what: 'demo checkout, PostgreSQL' },
  { key: 'checkout-sqlite', min: 0.15, what: 'demo checkout, SQLite' },
  { key: 'library', min: 0.55, what: 'library notify endpoint' },
];
const MAX_PEAK_TO_IDLE = 1.5;

async function main(): Promise<void> {
  compileServers(REPO, BUILD);
  mkdirSync(LOGS, { recursive: true });
  if (CPU_PROFILE_DIR) mkdirSync(CPU_PROFILE_DIR, { recursive: true });

  let simulator: Promise<{ server: ServerProcess; url: string }> | undefined;
  const sharedSimulator = () =>
    (simulator ??= freePort().then(async (port) => ({
      server: await start('simulator', 'libs/wechat-pay-simulator/src/main.js', port, {
        SIMULATOR_PORT: String(port),
        SIMULATOR_HOST: '127.0.0.1',
      }),
      url: `http://127.0.0.1:${port}`,
    })));
  const lines = [
    bareLine(),
    libraryLine(),
    demoNotifyLine('postgres'),
    demoNotifyLine('sqlite'),
    checkoutLine('postgres', sharedSimulator),
    checkoutLine('sqlite', sharedSimulator),
  ].filter((line) => !ONLY || line.key === 'bare' || ONLY.includes(line.key));

  console.log(
    `HTTP benchmark: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores`,
  );
  console.log(
    `autocannon, ${CONNECTIONS} keep-alive connections; ${WARMUP_S} s warm-up, then ${ROUNDS} rounds of ` +
      `${DURATION_S} s through every line; median round shown`,
  );

  const prepared = new Map<Line, Prepared>();
  const measured = new Map<Line, Measured>();
  const notes: string[] = [];
  try {
    for (const line of lines) {
      const ready = await line.prepare();
      if (typeof ready === 'string') {
        notes.push(`${line.label}: ${ready}`);
        continue;
      }
      prepared.set(line, ready);
    }
    for (const [line, ready] of prepared) {
      await pause(300);
      const idleRss = ready.server.rss();
      measured.set(line, {
        key: line.key,
        label: line.label,
        rounds: [],
        idleRss,
        peakRss: idleRss,
        usesPostgres: ready.usesPostgres,
        usesSimulator: ready.simulator !== undefined,
        checks: [],
      });
    }
    const measureOnce = async (line: Line, durationS: number): Promise<Round> => {
      const ready = prepared.get(line) as Prepared;
      const result = measured.get(line) as Measured;
      const sampler = setInterval(() => {
        result.peakRss = Math.max(result.peakRss, ready.server.rss());
      }, 25);
      try {
        const cpuBefore = ready.server.cpuMs();
        const backends = (await ready.postgresBackends?.()) ?? [];
        const postgresBefore = cpuMsOf(backends);
        const simulatorBefore = ready.simulator?.cpuMs() ?? 0;
        const run = await drive(ready, durationS);
        // Backends the pool opened during the run count from zero.
        const backendsAfter = (await ready.postgresBackends?.()) ?? [];
        const postgresAfter = cpuMsOf(backendsAfter);
        let postgresCpu = 0;
        for (const [pid, ms] of postgresAfter) postgresCpu += ms - (postgresBefore.get(pid) ?? 0);
        if (run.non2xx > 0) result.checks.push(`${run.non2xx} non-2xx answers`);
        if (run.errors > 0) result.checks.push(`${run.errors} connection errors`);
        return {
          rps: run.requests.total / run.duration,
          p99Ms: run.latency.p99,
          requests: run.requests.total,
          cpuMs: ready.server.cpuMs() - cpuBefore,
          postgresCpuMs: postgresCpu,
          simulatorCpuMs: (ready.simulator?.cpuMs() ?? 0) - simulatorBefore,
        };
      } finally {
        clearInterval(sampler);
      }
    };
    const bareLine = [...prepared.keys()].find((line) => line.key === 'bare') as Line;
    const others = [...prepared.keys()].filter((line) => line !== bareLine);
    if (WARMUP_S > 0) for (const line of prepared.keys()) await measureOnce(line, WARMUP_S);
    const bareRounds = (measured.get(bareLine) as Measured).rounds;
    for (let round = 1; round <= ROUNDS; round++) {
      // The bare route runs before and after every line: each line's ratio is to the mean of the
      // two, so load from elsewhere on the machine cancels out as far as it can.
      let before = await measureOnce(bareLine, DURATION_S);
      bareRounds.push(before);
      for (const line of others) {
        const run = await measureOnce(line, DURATION_S);
        const after = await measureOnce(bareLine, DURATION_S);
        bareRounds.push(after);
        (measured.get(line) as Measured).rounds.push({
          ...run,
          ratio: run.rps / ((before.rps + after.rps) / 2),
        });
        before = after;
      }
      process.stdout.write(`  round ${round} of ${ROUNDS} done\n`);
    }
    for (const [line, ready] of prepared) {
      const result = measured.get(line) as Measured;
      if (ready.replies.unexpected > 0) {
        result.checks.push(
          `${ready.replies.unexpected} unexpected replies, e.g. ${ready.replies.sample}`,
        );
      }
      if (ready.verify) result.checks.push(...(await ready.verify()));
    }
  } finally {
    for (const ready of prepared.values()) await ready.teardown();
    if (simulator) await (await simulator).server.stop();
  }

  const results = [...measured.values()];
  const bare = results.find((r) => r.key === 'bare') as Measured;
  const rates = bare.rounds.map((r) => r.rps);
  console.log(
    `\nbare route: ${bare.rounds.length} runs, median ${median(rates).toFixed(0)} req/s ` +
      `(${Math.min(...rates).toFixed(0)} to ${Math.max(...rates).toFixed(0)})\n`,
  );
  for (const row of table(results)) console.log(row);

  console.log('\nchecks');
  const problems = results.flatMap((r) => r.checks.map((check) => `${r.label}: ${check}`));
  for (const line of problems.length > 0
    ? problems
    : ['every reply and every settlement as expected']) {
    console.log(`  ${line}`);
  }
  for (const note of notes) console.log(`  ${note}`);

  console.log('\ntargets');
  for (const target of TARGETS) {
    const r = results.find((m) => m.key === target.key);
    if (!r) continue;
    const ratio = ratioOf(r);
    const verdict = ratio >= target.min ? 'met' : 'NOT met';
    console.log(
      `  ${target.what.padEnd(40)} ≥ ${target.min.toFixed(2)} of the bare route: ${verdict} (${ratio.toFixed(2)})`,
    );
  }
  for (const r of results.filter(
    (m) => m.key.startsWith('notify-') || m.key.startsWith('checkout-'),
  )) {
    const ratio = r.peakRss / r.idleRss;
    const verdict = ratio <= MAX_PEAK_TO_IDLE ? 'met' : 'NOT met';
    console.log(
      `  ${r.label.padEnd(40)} peak RSS ≤ ${MAX_PEAK_TO_IDLE}× idle: ${verdict} (${ratio.toFixed(2)}×)`,
    );
  }
  if (CPU_PROFILE_DIR) console.log(`\nCPU profiles in ${CPU_PROFILE_DIR}`);
  if (problems.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
