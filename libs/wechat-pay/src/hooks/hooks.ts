import { Inject, Injectable, Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { WechatPayBusinessError, WechatPayError } from '../errors/errors';
import { WECHAT_PAY_MODULE_OPTIONS } from '../wechat-pay.constants';
import type { WechatPayModuleOptions } from '../config/wechat-pay.options';

/**
 * Observability hooks (`hooks` in the module options), for metrics. Hosts that pass none pay
 * nothing. Hooks are called synchronously; one that throws (or returns a promise that rejects) is
 * caught and logged once per hook, and never changes the call's result or the notify reply.
 */
export interface WechatPayHooks {
  /** After every call to WeChat (pay host or login host), success or failure. */
  onGatewayCall?(event: WechatPayGatewayCallEvent): void;
  /** After every notification request the notify routes answered. */
  onNotification?(event: WechatPayNotificationEvent): void;
}

export interface WechatPayGatewayCallEvent {
  /** The WeChat path: '/pay/unifiedorder', '/pay/orderquery', '/pay/closeorder', '/sns/jscode2session',
   *  '/secapi/pay/refund', '/pay/refundquery', '/pay/downloadbill'. */
  endpoint: string;
  /** 'SUCCESS'; the err_code of a business failure (SYSTEMERROR, ORDERPAID, REFUNDNOTEXIST...); 'NO_BILL'
   *  for a downloadbill answered `No Bill Exist`; 'CANCELLED' for a bill stream the caller stopped
   *  reading; otherwise the error code of the WechatPayError thrown (RETURN_FAIL, BAD_SIGNATURE,
   *  PROTOCOL, TRANSPORT, LOGIN, CONFIG_INVALID...). A bill stream reports once it was read to
   *  the end (or failed), so its duration covers the download. */
  result: string;
  durationMs: number;
}

export interface WechatPayNotificationEvent {
  kind: 'payment' | 'refund';
  /** 'HANDLED' (handlers ran and succeeded), 'ACKNOWLEDGED' (verified result_code=FAIL, no handler run),
   *  or the NotifyRejectReason the request was refused with (BAD_SIGNATURE, HANDLER_FAILED, ...). */
  outcome: string;
}

/** The `result` a failed call reports: the business err_code, else the library's error code. */
export function gatewayCallResult(error: unknown): string {
  if (error instanceof WechatPayBusinessError) return error.errCode || error.code;
  if (error instanceof WechatPayError) return error.code;
  return 'UNEXPECTED';
}

type HookName = keyof WechatPayHooks;

/** Calls the host's hooks so that nothing a hook does can reach the caller. */
@Injectable()
export class WechatPayHookRunner {
  private readonly logger = new Logger('WechatPayHooks');
  private readonly hooks: WechatPayHooks | undefined;
  private readonly reported = new Set<HookName>();

  constructor(@Inject(WECHAT_PAY_MODULE_OPTIONS) options: WechatPayModuleOptions) {
    this.hooks = options.hooks;
  }

  /** Runs `call`, then reports its endpoint, result and duration to `onGatewayCall`. */
  async timeGatewayCall<T>(endpoint: string, call: () => Promise<T>): Promise<T> {
    if (this.hooks?.onGatewayCall === undefined) return call();
    const started = performance.now();
    try {
      const value = await call();
      this.gatewayCall({ endpoint, result: 'SUCCESS', durationMs: performance.now() - started });
      return value;
    } catch (error) {
      this.gatewayCall({
        endpoint,
        result: gatewayCallResult(error),
        durationMs: performance.now() - started,
      });
      throw error;
    }
  }

  /**
   * For calls whose end is not a promise (a bill read as a stream): starts the clock now and
   * reports when `done` is called, with a result string or the error the call failed with.
   */
  startGatewayCall(endpoint: string): (outcome: { result: string } | { error: unknown }) => void {
    if (this.hooks?.onGatewayCall === undefined) return () => undefined;
    const started = performance.now();
    let reported = false;
    return (outcome) => {
      if (reported) return;
      reported = true;
      this.gatewayCall({
        endpoint,
        result: 'result' in outcome ? outcome.result : gatewayCallResult(outcome.error),
        durationMs: performance.now() - started,
      });
    };
  }

  notification(event: WechatPayNotificationEvent): void {
    this.run('onNotification', event);
  }

  private gatewayCall(event: WechatPayGatewayCallEvent): void {
    this.run('onGatewayCall', event);
  }

  private run<N extends HookName>(
    name: N,
    event: Parameters<NonNullable<WechatPayHooks[N]>>[0],
  ): void {
    const hooks = this.hooks;
    const hook = hooks?.[name] as ((e: typeof event) => unknown) | undefined;
    if (hook === undefined) return;
    try {
      const returned = hook.call(hooks, event);
      if (isThenable(returned))
        returned.then(undefined, (error: unknown) => this.failed(name, error));
    } catch (error) {
      this.failed(name, error);
    }
  }

  private failed(name: HookName, error: unknown): void {
    if (this.reported.has(name)) return;
    this.reported.add(name);
    const what = error instanceof Error ? `${error.name}: ${error.message}` : typeof error;
    this.logger.error(
      `the ${name} hook threw (${what.slice(0, 200)}); its result was ignored, and later failures of this hook are not logged`,
    );
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
