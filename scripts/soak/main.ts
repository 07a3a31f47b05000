/**
 * `npm run soak`: the fault soak. Starts the WeChat Pay simulator and several demo instances as
 * separate processes on a database of their own, puts a load balancer in front of the instances
 * and a partitionable link between them and WeChat, runs virtual users against them while faults
 * are injected, then audits the money against WeChat's view. See USAGE (or --help) and the
 * "Fault soak" section of the README.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { NotificationAttempt, SimulatedOrderView } from 'wechat-pay-v2-simulator';
import { TEST_MERCHANT } from 'wechat-pay-v2-simulator';
import { audit, type RunFacts } from './audit';
import { postNotificationCopies, type CopiesResult } from './copies';
import { PostgresSoakDatabase, SqliteSoakDatabase, type SoakDatabase } from './database';
import { call, HttpTally, sleep } from './http';
import {
  loginProbeUser,
  Pacer,
  VirtualUser,
  type LoadContext,
  type OrderRecord,
  type Product,
} from './load';
import { parseSoakOptions, SoakOptionsError, USAGE, type SoakOptions } from './options';
import { HealthProber, measureRecovery, type InstanceAddress } from './prober';
import { freePort, ManagedProcess, NetworkControl, waitForHttp } from './processes';
import { formatReport } from './report';

const BUNDLE = 'dist/apps/demo/main.js';
const SOURCES = ['apps/demo/src', 'libs/wechat-pay/src', 'libs/wechat-pay-simulator/src'];

const progress = (line: string): void => {
  process.stderr.write(`[soak] ${line}\n`);
};

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function buildIfNeeded(mode: SoakOptions['build']): void {
  const stale =
    !existsSync(BUNDLE) || Math.max(...SOURCES.map(newestSource)) > statSync(BUNDLE).mtimeMs;
  if (mode === 'never' || (mode === 'auto' && !stale)) {
    if (!existsSync(BUNDLE))
      throw new Error(`${BUNDLE} is missing: run npm run build, or drop --no-build`);
    return;
  }
  progress('building the demo (npm run build)');
  const result = spawnSync('npm', ['run', '--silent', 'build'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (result.status !== 0) throw new Error('npm run build failed');
}

/** The merchant the simulator accepts: its test merchant unless the run gave it one. */
function merchantOf(options: SoakOptions) {
  const env = options.simulatorEnv;
  if (env.WECHAT_APP_ID && env.WECHAT_APP_SECRET && env.WECHAT_MCH_ID && env.WECHAT_API_KEY)
    return {
      appId: env.WECHAT_APP_ID,
      appSecret: env.WECHAT_APP_SECRET,
      mchId: env.WECHAT_MCH_ID,
      apiKey: env.WECHAT_API_KEY,
    };
  return TEST_MERCHANT;
}

/** Only what a process needs from the soak's own environment, so a stray DATABASE_URL or WECHAT_* never leaks in. */
function baseEnv(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'LANG', 'TMPDIR', 'NODE_OPTIONS'];
  return Object.fromEntries(
    keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]),
  );
}

interface Instance extends InstanceAddress {
  process: ManagedProcess;
  port: number;
}

class Soak {
  private readonly runDir = mkdtempSync(join(tmpdir(), 'nest-wechat-pay-soak-'));
  private readonly db: SoakDatabase;
  private simulator?: ManagedProcess;
  private network?: NetworkControl;
  private instances: Instance[] = [];
  private readonly tally = new HttpTally();
  private readonly records = new Map<string, OrderRecord>();
  private readonly unexpectedExits: RunFacts['unexpectedExits'] = [];
  private readonly incomplete: string[] = [];
  private stopping = false;

  constructor(private readonly options: SoakOptions) {
    this.db =
      options.database === 'postgres'
        ? new PostgresSoakDatabase(options.postgresUrl)
        : new SqliteSoakDatabase(join(this.runDir, 'soak.sqlite'));
  }

  private at(fraction: number, startedAt: number): number {
    return startedAt + fraction * this.options.durationS * 1000;
  }

  async run(): Promise<number> {
    const o = this.options;
    buildIfNeeded(o.build);
    progress(`logs in ${this.runDir}`);
    const merchant = merchantOf(o);
    const [simPort, wechatLinkPort, notifyLinkPort, balancerPort] = await Promise.all(
      [0, 1, 2, 3].map(() => freePort()),
    );
    const instancePorts = await Promise.all(Array.from({ length: o.instances }, () => freePort()));
    const simulatorUrl = `http://127.0.0.1:${simPort}`;
    const shopUrl = `http://127.0.0.1:${balancerPort}`;

    await this.db.create();
    progress(`database ${this.db.name}`);

    this.simulator = new ManagedProcess(
      'simulator',
      'npm',
      ['run', '--silent', 'simulator'],
      {
        ...baseEnv(),
        SIMULATOR_PORT: String(simPort),
        SIMULATOR_TIME_SCALE: String(o.timeScale),
        // The audit compares every order with WeChat's view: none may be forgotten during the run.
        SIMULATOR_MAX_ORDERS: 'Infinity',
        SIMULATOR_RETAIN_CLOSED_MS: 'Infinity',
        SIMULATOR_RETAIN_PAID_MS: 'Infinity',
        ...o.simulatorEnv,
      },
      join(this.runDir, 'simulator.log'),
    );
    this.simulator.onUnexpectedExit = () =>
      this.incomplete.push('the simulator exited during the run');
    this.simulator.start();

    this.network = new NetworkControl(
      {
        balancer: {
          port: balancerPort,
          upstreams: instancePorts.map((port, i) => ({ name: `i${i + 1}`, port })),
        },
        // Notifications cross the partition too: a partition cuts both directions.
        links: [
          { name: 'wechat', port: wechatLinkPort, targetPort: simPort },
          { name: 'notify', port: notifyLinkPort, targetPort: balancerPort },
        ],
      },
      this.runDir,
    );
    await Promise.all([
      this.network.start(),
      waitForHttp(`${simulatorUrl}/__simulator/clock`, 60_000),
    ]);

    const sessionSecret = randomBytes(24).toString('base64url');
    const linkUrl = `http://127.0.0.1:${wechatLinkPort}`;
    this.instances = instancePorts.map((port, i) => {
      const name = `i${i + 1}`;
      const child = new ManagedProcess(
        name,
        process.execPath,
        [BUNDLE],
        {
          ...baseEnv(),
          NODE_ENV: 'production',
          NO_COLOR: '1',
          PORT: String(port),
          HOST: '127.0.0.1',
          DATABASE_URL: this.db.appUrl,
          SIMULATOR: 'off',
          WECHAT_APP_ID: merchant.appId,
          WECHAT_APP_SECRET: merchant.appSecret,
          WECHAT_MCH_ID: merchant.mchId,
          WECHAT_API_KEY: merchant.apiKey,
          WECHAT_PAY_BASE_URL: linkUrl,
          WECHAT_API_BASE_URL: linkUrl,
          WECHAT_NOTIFY_URL: `http://127.0.0.1:${notifyLinkPort}/wechat-pay/notify`,
          SESSION_SECRET: sessionSecret,
          ORDER_TTL_MINUTES: String(o.orderTtlMinutes),
          RECONCILER_INTERVAL_MS: String(o.reconcilerIntervalMs),
          RECONCILER_LEASE_MS: String(o.reconcilerLeaseMs),
          // Each virtual user is its own client address behind the balancer; the per-user order
          // limit is raised because one soak user orders far faster than a person does.
          TRUST_PROXY: 'loopback',
          RATE_LIMIT_ORDERS_PER_USER: '100000',
          ...o.appEnv,
        },
        join(this.runDir, `${name}.log`),
        /pass: claimed| ERROR \[/,
      );
      const instance: Instance = { name, port, url: `http://127.0.0.1:${port}`, process: child };
      child.onUnexpectedExit = (record) => {
        this.unexpectedExits.push({
          instance: name,
          at: record.at,
          code: record.code,
          signal: record.signal,
        });
        if (this.stopping) return;
        progress(`${name} exited by itself (${record.signal ?? record.code}); restarting it`);
        child.start();
      };
      return instance;
    });
    for (const i of this.instances) i.process.start();
    await Promise.all(this.instances.map((i) => waitForHttp(`${i.url}/api/products`, 120_000)));
    progress(`${o.instances} instance(s) up behind ${shopUrl}; simulator ${simulatorUrl}`);

    const products = (await call<Product[]>(`${shopUrl}/api/products`)).body ?? [];
    if (products.length === 0) throw new Error('the shop lists no products');

    const startedAt = Date.now();
    const loadEndsAt = this.at(1, startedAt);
    const pacer = new Pacer(o.orders, startedAt, loadEndsAt, o.users);
    let copiesArmed = false;
    let copies: CopiesResult | undefined;
    const untracked = { count: 0 };
    const ctx: LoadContext = {
      shopUrl,
      simulatorUrl,
      tally: this.tally,
      records: this.records,
      pacer,
      products,
      giveUpAt: loadEndsAt + 30_000,
      claimCopies: () => {
        if (!copiesArmed || o.copies === 0) return false;
        copiesArmed = false;
        return true;
      },
      copies: async (view: SimulatedOrderView) => {
        copies = await postNotificationCopies(
          `${shopUrl}/wechat-pay/notify`,
          merchant.apiKey,
          view,
          o.copies,
        );
        progress(
          `${o.copies} copies of the notification of ${view.outTradeNo}: ${JSON.stringify(copies.replies)}`,
        );
      },
      untracked,
    };
    const probeToken = await loginProbeUser({ ...ctx, tally: new HttpTally() });
    if (!probeToken) throw new Error('the probe user could not log in');

    const faults = await call(`${simulatorUrl}/__simulator/faults`, {
      method: 'POST',
      json: { dropNotificationRate: o.dropRate, systemErrorRate: o.systemErrorRate },
    });
    if (faults.status !== 200) throw new Error(`the simulator refused the faults: ${faults.text}`);

    const prober = new HealthProber(this.instances);
    prober.start();
    progress(`load: ${o.users} users, ${o.orders} orders over ${o.durationS} s`);
    const users = Array.from(
      { length: o.users },
      (_, i) =>
        new VirtualUser(`soak-user-${i + 1}`, `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`, ctx),
    );
    const load = Promise.all(users.map((u) => u.run()));
    const ticker = setInterval(() => this.tick(startedAt, prober), 15_000);

    const facts: Partial<RunFacts> = { databaseKills: [] };
    const timeline = this.timeline(startedAt, probeToken, facts, () => {
      copiesArmed = true;
    });
    await Promise.all([load, timeline]);
    const loadEndedAt = Date.now();
    if (o.copies > 0 && !copies)
      this.incomplete.push('no payment came to copy a notification from');
    clearInterval(ticker);
    progress(
      `load over after ${Math.round((loadEndedAt - startedAt) / 1000)} s; waiting for payments to settle`,
    );

    await this.settle(simulatorUrl);
    if (o.waitForExpiry) {
      // Until the first 30 s of orders are past expiry plus grace, so "stuck" has orders to judge.
      const until =
        startedAt +
        Math.min(30, o.durationS) * 1000 +
        o.orderTtlMinutes * 60_000 +
        o.expiryGraceS * 1000;
      if (until > Date.now()) {
        progress(
          `waiting ${Math.round((until - Date.now()) / 1000)} s for the first orders to expire`,
        );
        while (Date.now() < until) {
          await sleep(Math.min(60_000, until - Date.now()));
          this.tick(startedAt, prober);
        }
      }
    }
    await prober.stop();

    const auditedAt = Date.now();
    const [simOrders, simNotifications, network] = await Promise.all([
      call<SimulatedOrderView[]>(`${simulatorUrl}/__simulator/orders`, { timeoutMs: 120_000 }),
      call<NotificationAttempt[]>(`${simulatorUrl}/__simulator/notifications`, {
        timeoutMs: 120_000,
      }),
      this.network.stats(),
    ]);
    if (simOrders.status !== 200) this.incomplete.push('the simulator did not list its orders');
    this.stopping = true;
    await Promise.all(this.instances.map((i) => i.process.stop()));
    const snapshot = await this.db.snapshot();

    const report = audit({
      options: o,
      startedAt,
      loadEndedAt,
      auditedAt,
      records: this.records,
      simulatorOrders: simOrders.body ?? [],
      simulatorNotifications: simNotifications.body ?? [],
      snapshot,
      tally: this.tally,
      probes: prober.results,
      kill9: facts.kill9,
      databaseKills: facts.databaseKills ?? [],
      partition: facts.partition,
      copies,
      untrackedCheckouts: untracked.count,
      pacerSkipped: pacer.skipped,
      unexpectedExits: this.unexpectedExits,
      reconcilerPasses: this.instances.flatMap((i) =>
        i.process.watched.flatMap((line) => {
          const m = /pass: claimed (\d+).* in (\d+) ms/.exec(line);
          return m ? [{ instance: i.name, claimed: Number(m[1]), durationMs: Number(m[2]) }] : [];
        }),
      ),
      errorLogLines: Object.fromEntries(
        this.instances.map((i) => [
          i.name,
          i.process.watched.filter((l) => / ERROR \[/.test(l)).length,
        ]),
      ),
      network,
      incomplete: this.incomplete,
    });
    report.run.logs = this.runDir;
    if (this.db.kind === 'sqlite') report.run.databaseKills = 'not applicable on SQLite';
    process.stdout.write(
      o.json ? `${JSON.stringify(report, null, 2)}\n` : `\n${formatReport(report)}\n`,
    );
    if (report.failures.length) return 1;
    return report.incomplete.length ? 2 : 0;
  }

  private tick(startedAt: number, prober: HealthProber): void {
    const paid = [...this.records.values()].filter((r) => r.payment).length;
    progress(
      `${Math.round((Date.now() - startedAt) / 1000)} s: ${this.records.size} orders, ${paid} paid at WeChat, ` +
        `${this.tally.count(500)} HTTP 500, ${prober.results.filter((p) => p.outcome === '503').length} health 503`,
    );
  }

  /** The scheduled faults, as fractions of the load so that they scale with it. */
  private async timeline(
    startedAt: number,
    probeToken: string,
    facts: Partial<RunFacts>,
    armCopies: () => void,
  ): Promise<void> {
    const o = this.options;
    const until = async (fraction: number) => {
      const wait = this.at(fraction, startedAt) - Date.now();
      if (wait > 0) await sleep(wait);
    };
    const background: Promise<unknown>[] = [];

    await until(0.1);
    progress('arming the notification copies');
    armCopies();

    await until(0.2);
    const victim = this.instances[Math.min(1, this.instances.length - 1)];
    const kill9: NonNullable<RunFacts['kill9']> = { instance: victim.name, killedAt: Date.now() };
    facts.kill9 = kill9;
    progress(`kill -9 ${victim.name} (pid ${victim.process.pid})`);
    victim.process.kill9();
    await until(0.2 + 1 / 16);
    kill9.restartedAt = Date.now();
    progress(`restarting ${victim.name}`);
    victim.process.start();
    background.push(
      waitForHttp(`${victim.url}/api/products`, 120_000).then(
        () => {
          kill9.readyAt = Date.now();
        },
        () => this.incomplete.push(`${victim.name} did not come back after kill -9`),
      ),
    );

    const killDatabase = async (n: number) => {
      const at = Date.now();
      const terminated = await this.db.terminateAppConnections();
      progress(`database kill ${n}: ${terminated} connections terminated`);
      const recoveries = await measureRecovery(this.instances, probeToken, at, 30_000);
      facts.databaseKills?.push({ at, terminated, recoveries });
    };

    if (this.db.kind === 'postgres') {
      await until(0.35);
      background.push(killDatabase(1));
    }

    const partitionS = o.durationS / 8;
    await until(0.45);
    const hangAt = Date.now();
    progress(`partition: connections to and from WeChat hang for ${partitionS / 2} s`);
    await this.network?.setMode('hang');
    await until(0.45 + 1 / 16);
    const refuseAt = Date.now();
    progress(`partition: connections refused for ${partitionS / 2} s`);
    await this.network?.setMode('refuse');
    await until(0.45 + 1 / 8);
    await this.network?.setMode('open');
    facts.partition = { hangAt, refuseAt, openAt: Date.now() };
    progress('partition over');

    if (this.db.kind === 'postgres') {
      await until(0.7);
      background.push(killDatabase(2));
    }
    await Promise.all(background);
  }

  /** Until every payment WeChat took is recorded, or the settle deadline after the last one. */
  private async settle(simulatorUrl: string): Promise<void> {
    const paid = new Set([...this.records.values()].filter((r) => r.payment).map((r) => r.orderNo));
    const simOrders = await call<SimulatedOrderView[]>(`${simulatorUrl}/__simulator/orders`, {
      timeoutMs: 120_000,
    });
    for (const order of simOrders.body ?? [])
      if (order.tradeState === 'SUCCESS') paid.add(order.outTradeNo);
    const lastPayment = Math.max(
      Date.now(),
      ...[...this.records.values()].map((r) => r.payment?.sentAt ?? 0),
    );
    const deadline = lastPayment + this.options.settleDeadlineS * 1000;
    for (;;) {
      const recorded = await this.db.paidOrderNos();
      const pending = [...paid].filter((no) => !recorded.has(no));
      if (pending.length === 0) return progress(`all ${paid.size} payments recorded`);
      if (Date.now() > deadline)
        return progress(`${pending.length} payment(s) still unrecorded at the deadline`);
      await sleep(2000);
    }
  }

  /** Ends what the soak started, by its own handles, and drops the run's database. */
  async cleanup(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled(this.instances.map((i) => i.process.stop()));
    await Promise.allSettled([this.simulator?.stop(), this.network?.stop()]);
    if (this.options.keepDatabase) {
      progress(`database kept: ${this.db.name}`);
      return;
    }
    await this.db
      .drop()
      .catch((error: unknown) =>
        progress(
          `could not drop ${this.db.name}: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
  }
}

async function main(): Promise<number> {
  let options: SoakOptions | undefined;
  try {
    options = parseSoakOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof SoakOptionsError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (!options) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const soak = new Soak(options);
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    progress('interrupted: stopping everything the soak started');
    void soak.cleanup().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await soak.run();
  } catch (error) {
    console.error(`soak failed: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  } finally {
    if (!interrupted) await soak.cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
