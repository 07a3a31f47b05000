import { Logger } from '@nestjs/common';
import { WechatPayBusinessError, WechatPayTransportError } from '../errors/errors';
import { gatewayCallResult, WechatPayHookRunner, type WechatPayHooks } from './hooks';

const MERCHANT = { appId: 'wx1234567890abcdef', mchId: '1900000109', apiKey: 'k'.repeat(32) };

function runner(hooks?: WechatPayHooks): WechatPayHookRunner {
  return new WechatPayHookRunner({ ...MERCHANT, hooks });
}

describe('WechatPayHookRunner', () => {
  let error: jest.SpyInstance;

  beforeEach(() => {
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  it('runs calls unchanged and reports nothing when the host passed no hooks', async () => {
    await expect(runner().timeGatewayCall('/pay/orderquery', async () => 'ok')).resolves.toBe('ok');
    expect(() => runner().notification({ kind: 'payment', outcome: 'HANDLED' })).not.toThrow();
  });

  it('reports a call synchronously, before its promise settles for the caller', async () => {
    const seen: string[] = [];
    const hooks = runner({
      onGatewayCall: (event) => seen.push(`${event.endpoint} ${event.result}`),
    });
    const value = await hooks.timeGatewayCall('/pay/closeorder', async () => 7);
    expect(value).toBe(7);
    expect(seen).toEqual(['/pay/closeorder SUCCESS']);
  });

  it('keeps the result and the error of a call when the hook throws, and logs that once', async () => {
    const hooks = runner({
      onGatewayCall: () => {
        throw new Error('counter not registered');
      },
    });
    await expect(hooks.timeGatewayCall('/pay/orderquery', async () => 'ok')).resolves.toBe('ok');
    const failure = new WechatPayTransportError('NETWORK', 'down', { retryable: true });
    await expect(
      hooks.timeGatewayCall('/pay/orderquery', () => Promise.reject(failure)),
    ).rejects.toBe(failure);
    await hooks.timeGatewayCall('/pay/orderquery', async () => 'again');
    expect(error).toHaveBeenCalledTimes(1);
    expect(String(error.mock.calls[0][0])).toContain('onGatewayCall');
    expect(String(error.mock.calls[0][0])).not.toContain('\n    at ');
  });

  it('catches a hook that returns a rejected promise', async () => {
    const hooks = runner({
      onNotification: () => Promise.reject(new Error('async metrics')) as never,
    });
    hooks.notification({ kind: 'payment', outcome: 'HANDLED' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(error).toHaveBeenCalledTimes(1);
    expect(String(error.mock.calls[0][0])).toContain('onNotification');
  });

  it('calls a hook with its object as this, so a service instance can be passed', () => {
    class Metrics implements WechatPayHooks {
      readonly outcomes: string[] = [];
      onNotification(event: { outcome: string }): void {
        this.outcomes.push(event.outcome);
      }
    }
    const metrics = new Metrics();
    runner(metrics).notification({ kind: 'payment', outcome: 'BAD_SIGNATURE' });
    expect(metrics.outcomes).toEqual(['BAD_SIGNATURE']);
  });
});

describe('gatewayCallResult', () => {
  it('is the err_code of a business failure and the error code otherwise', () => {
    expect(gatewayCallResult(new WechatPayBusinessError('ORDERPAID', '该订单已支付', ''))).toBe(
      'ORDERPAID',
    );
    expect(gatewayCallResult(new WechatPayBusinessError('', '', ''))).toBe('BUSINESS');
    expect(gatewayCallResult(new WechatPayTransportError('READ_TIMEOUT', 'slow'))).toBe(
      'TRANSPORT',
    );
    expect(gatewayCallResult(new RangeError('not ours'))).toBe('UNEXPECTED');
  });
});
