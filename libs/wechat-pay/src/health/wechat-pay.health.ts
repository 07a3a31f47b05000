import { Inject, Injectable, Module, type DynamicModule } from '@nestjs/common';
import {
  HealthIndicatorService,
  TerminusModule,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import { WechatPayBusinessError, WechatPayConfigError } from '../errors/errors';
import { WechatPayGateway } from '../gateway/gateway.service';
import { gatewayCallResult } from '../hooks/hooks';

export interface WechatPayHealthOptions {
  /** Consecutive failed probes after which WeChat is reported down. Default 3. */
  failuresBeforeDown?: number;
  /** A probe runs at most this often; checks in between reuse its result. Default 10000 ms. */
  minIntervalMs?: number;
  /** Read timeout of the probe's orderquery, in ms. Default 3000. */
  timeoutMs?: number;
}

export const WECHAT_PAY_HEALTH_OPTIONS = Symbol('WECHAT_PAY_HEALTH_OPTIONS');

/** What the last probes showed. Times are ISO 8601. */
export interface WechatPayProbeState {
  /** `down` once `failuresBeforeDown` probes in a row failed; `up` otherwise (one success resets). */
  state: 'up' | 'down';
  consecutiveFailures: number;
  /**
   * What the last probe got: `ORDERNOTEXIST` (the expected answer), a trade state, or the failure
   * (`SYSTEMERROR`, `TRANSPORT`, `RETURN_FAIL`, `BAD_SIGNATURE`, `PROTOCOL`...).
   */
  lastResult: string;
  lastProbeAt: string;
  lastSuccessAt?: string;
}

/** An order number no merchant uses: asking for it must answer ORDERNOTEXIST. */
const PROBE_ORDER_NO = 'WXPAYHEALTHPROBE0000';

function resolveOptions(options: WechatPayHealthOptions): Required<WechatPayHealthOptions> {
  const resolved = {
    failuresBeforeDown: options.failuresBeforeDown ?? 3,
    minIntervalMs: options.minIntervalMs ?? 10_000,
    timeoutMs: options.timeoutMs ?? 3000,
  };
  const problems: Array<{ field: string; problems: string[] }> = [];
  if (!Number.isSafeInteger(resolved.failuresBeforeDown) || resolved.failuresBeforeDown < 1) {
    problems.push({ field: 'failuresBeforeDown', problems: ['must be an integer of at least 1'] });
  }
  if (!Number.isSafeInteger(resolved.minIntervalMs) || resolved.minIntervalMs < 0) {
    problems.push({ field: 'minIntervalMs', problems: ['must be a non-negative integer'] });
  }
  if (!Number.isSafeInteger(resolved.timeoutMs) || resolved.timeoutMs < 1) {
    problems.push({ field: 'timeoutMs', problems: ['must be a positive integer'] });
  }
  if (problems.length > 0) throw new WechatPayConfigError(problems);
  return resolved;
}

/**
 * WeChat Pay's reachability for `@nestjs/terminus`. The probe is a signed orderquery for an order
 * that does not exist: an ORDERNOTEXIST answer proves the host answers, the key signs and verifies,
 * and the appid/mch_id pair is accepted.
 *
 * The rule: a probe runs at most once per `minIntervalMs` (concurrent checks share it), and the
 * state turns `down` only after `failuresBeforeDown` consecutive failed probes; one success turns
 * it `up` again. So one SYSTEMERROR or a slow answer changes nothing but the counters.
 *
 * WeChat is the same for every instance, so an app's readiness should not follow it (a load
 * balancer that drops every instance at once gains nothing): put `state()` in the body of the
 * readiness endpoint, and use `isHealthy()` (which is `down` by the rule) on an endpoint of its own.
 */
@Injectable()
export class WechatPayHealthIndicator {
  private readonly options: Required<WechatPayHealthOptions>;
  private last?: { at: number; state: WechatPayProbeState };
  private running?: Promise<WechatPayProbeState>;

  constructor(
    private readonly gateway: WechatPayGateway,
    private readonly health: HealthIndicatorService,
    @Inject(WECHAT_PAY_HEALTH_OPTIONS) options: WechatPayHealthOptions,
  ) {
    this.options = resolveOptions(options);
  }

  /**
   * The current state without waiting on WeChat: the last probe's result, with a new probe
   * started in the background once it is older than `minIntervalMs`. Only the very first call
   * waits for a probe (at most `timeoutMs`).
   */
  async state(): Promise<WechatPayProbeState> {
    const last = this.last;
    if (last === undefined) return this.probe();
    if (Date.now() - last.at >= this.options.minIntervalMs) void this.probe();
    return last.state;
  }

  /** Runs a probe now (or joins the one running) and returns the state it leads to. */
  probe(): Promise<WechatPayProbeState> {
    this.running ??= this.runProbe().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** The terminus result: `down` by the rule above, with the state as its data. */
  async isHealthy<const Key extends string = 'wechatPay'>(
    key: Key = 'wechatPay' as Key,
  ): Promise<HealthIndicatorResult<Key>> {
    const { state, ...data } = await this.state();
    const session = this.health.check(key);
    return state === 'up'
      ? session.up({ wechat: state, ...data })
      : session.down({ wechat: state, ...data });
  }

  private async runProbe(): Promise<WechatPayProbeState> {
    let result: string;
    let ok: boolean;
    try {
      const answer = await this.gateway.orderQuery(
        { outTradeNo: PROBE_ORDER_NO },
        { readTimeoutMs: this.options.timeoutMs },
      );
      result = answer.tradeState;
      ok = true;
    } catch (error) {
      ok = error instanceof WechatPayBusinessError && error.errCode === 'ORDERNOTEXIST';
      result = gatewayCallResult(error);
    }
    const now = new Date();
    const previous = this.last?.state;
    const consecutiveFailures = ok ? 0 : (previous?.consecutiveFailures ?? 0) + 1;
    const state: WechatPayProbeState = {
      state: consecutiveFailures >= this.options.failuresBeforeDown ? 'down' : 'up',
      consecutiveFailures,
      lastResult: result,
      lastProbeAt: now.toISOString(),
    };
    const lastSuccessAt = ok ? state.lastProbeAt : previous?.lastSuccessAt;
    if (lastSuccessAt !== undefined) state.lastSuccessAt = lastSuccessAt;
    this.last = { at: now.getTime(), state };
    return state;
  }
}

/**
 * Provides WechatPayHealthIndicator and re-exports TerminusModule (so HealthCheckService comes with
 * it). Import it in the module of your health controller; WechatPayModule must be imported too.
 */
@Module({})
export class WechatPayHealthModule {
  static register(options: WechatPayHealthOptions = {}): DynamicModule {
    return {
      module: WechatPayHealthModule,
      imports: [TerminusModule],
      providers: [
        { provide: WECHAT_PAY_HEALTH_OPTIONS, useValue: options },
        WechatPayHealthIndicator,
      ],
      exports: [WechatPayHealthIndicator, TerminusModule],
    };
  }
}
