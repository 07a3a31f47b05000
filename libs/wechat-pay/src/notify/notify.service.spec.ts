import { Logger } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { vectors } from '../../../../test/fixtures/vectors';
import { resolveWechatPayConfig, type WechatPayModuleOptions } from '../config/wechat-pay.options';
import { sign } from '../signer/sign';
import { WechatPaySigner } from '../signer/signer.service';
import {
  buildPaymentNotification,
  parseNotifyReply,
  type PaymentNotificationOptions,
} from '../testing';
import { buildXml } from '../xml/xml-codec';
import { NotifyHandlerRegistry } from './notify-handler.registry';
import { WechatPayNotifyError } from '../errors/errors';
import { WechatPayHookRunner, type WechatPayNotificationEvent } from '../hooks/hooks';
import { MAX_FEN } from '../util/money';
import { buildNotifyReply, notifyReply } from './notify-reply';
import { WechatPayNotifyService } from './notify.service';
import type { NotifyRejectReason, PaymentNotification } from './notify.types';

const MERCHANT = {
  appId: 'wx1234567890abcdef',
  mchId: '1900000109',
  apiKey: 'k3y0123456789abcdefghijklmnopqrs',
} as const;

function emptyRegistry(): NotifyHandlerRegistry {
  return new NotifyHandlerRegistry(
    new DiscoveryService(new ModulesContainer()),
    new MetadataScanner(),
    new Reflector(),
  );
}

function setup(options: Partial<WechatPayModuleOptions> = {}, registry = emptyRegistry()) {
  const outcomes: WechatPayNotificationEvent[] = [];
  const moduleOptions = {
    ...MERCHANT,
    signType: 'MD5' as const,
    hooks: { onNotification: (event: WechatPayNotificationEvent) => outcomes.push(event) },
    ...options,
  };
  const config = resolveWechatPayConfig(moduleOptions);
  const events: PaymentNotification[] = [];
  registry.register('Test.record', (event) => {
    events.push(event);
  });
  const service = new WechatPayNotifyService(
    config,
    new WechatPaySigner(config),
    registry,
    new WechatPayHookRunner(moduleOptions),
  );
  return { service, registry, events, outcomes };
}

/** The reason verify() refused the body with. */
async function refusal(promise: Promise<unknown>): Promise<NotifyRejectReason> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof WechatPayNotifyError) return error.reason;
    throw error;
  }
  throw new Error('expected verify() to refuse the body');
}

function notification(overrides: Partial<PaymentNotificationOptions> = {}) {
  return buildPaymentNotification({ ...MERCHANT, ...overrides });
}

describe('WechatPayNotifyService', () => {
  let warn: jest.SpyInstance;
  let error: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  describe('a valid payment notification', () => {
    it('answers SUCCESS/OK and hands the typed event to the handler once', async () => {
      const { service, events } = setup();
      const { xml, fields } = notification({
        outTradeNo: 'ORDER-0001',
        transactionId: '4200000288201903177135850941',
        totalFee: 2500,
        cashFee: 2000,
        openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
        timeEnd: '20240305120102',
        attach: 'cart=7',
        fields: { coupon_fee: 500 },
      });

      const result = await service.handle(xml);

      expect(result.accepted).toBe(true);
      expect(result.reason).toBeUndefined();
      expect(await parseNotifyReply(result.reply)).toEqual({
        returnCode: 'SUCCESS',
        returnMsg: 'OK',
      });
      expect(events).toHaveLength(1);
      expect(events[0]).toEqual({
        resultCode: 'SUCCESS',
        appId: MERCHANT.appId,
        mchId: MERCHANT.mchId,
        outTradeNo: 'ORDER-0001',
        transactionId: '4200000288201903177135850941',
        totalFee: 2500,
        cashFee: 2000,
        openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
        timeEnd: '20240305120102',
        attach: 'cart=7',
        tradeType: 'JSAPI',
        bankType: 'CFT',
        feeType: 'CNY',
        signType: 'MD5',
        raw: fields,
      });
      expect(result.event).toBe(events[0]);
    });

    it('accepts the body as a Buffer as well as a string', async () => {
      const { service, events } = setup();
      const result = await service.handle(Buffer.from(notification({ totalFee: 1 }).xml, 'utf8'));
      expect(result.accepted).toBe(true);
      expect(events.map((e) => e.totalFee)).toEqual([1]);
    });

    it('hands handlers a frozen event, so a handler that changes it fails and the amount stays', async () => {
      const { service, registry } = setup();
      registry.register('Test.mutate', (event) => {
        (event as { totalFee: number }).totalFee = 1;
      });
      const result = await service.handle(notification({ totalFee: 300 }).xml);
      expect(result.reason).toBe('HANDLER_FAILED');
      expect(result.event?.totalFee).toBe(300);
    });

    it('verifies the §2.4 payment-notification vector and yields totalFee 88', async () => {
      const vector = vectors.sign.find((v) => v.name.startsWith('payment notification'));
      if (!vector) throw new Error('fixture missing');
      const { service, events } = setup({
        appId: vector.params.appid,
        mchId: vector.params.mch_id,
        apiKey: vector.key,
        signType: 'MD5',
      });
      const result = await service.handle(buildXml({ ...vector.params, sign: vector.sign }));
      expect(result.accepted).toBe(true);
      expect(events[0]).toMatchObject({
        outTradeNo: '20150806125346',
        transactionId: '4200000000201508060000000001',
        totalFee: 88,
        cashFee: 88,
        signType: 'MD5',
      });
      expect(events[0].attach).toBeUndefined();
    });
  });

  describe('signature algorithm', () => {
    it('verifies an HMAC-SHA256 notification that carries sign_type', async () => {
      const { service, events } = setup();
      const result = await service.handle(notification({ signType: 'HMAC-SHA256' }).xml);
      expect(result.accepted).toBe(true);
      expect(events[0].signType).toBe('HMAC-SHA256');
      expect(events[0].raw.sign_type).toBe('HMAC-SHA256');
    });

    it('verifies an HMAC-SHA256 notification without sign_type when HMAC-SHA256 is configured', async () => {
      const { service, events } = setup({ signType: 'HMAC-SHA256' });
      const built = notification({ signType: 'HMAC-SHA256', includeSignType: false });
      expect(built.fields.sign_type).toBeUndefined();
      const result = await service.handle(built.xml);
      expect(result.accepted).toBe(true);
      expect(events[0].signType).toBe('HMAC-SHA256');
    });

    it('verifies an HMAC-SHA256 notification without sign_type even when MD5 is configured', async () => {
      const { service, events } = setup({ signType: 'MD5' });
      const result = await service.handle(
        notification({ signType: 'HMAC-SHA256', includeSignType: false }).xml,
      );
      expect(result.accepted).toBe(true);
      expect(events[0].signType).toBe('HMAC-SHA256');
    });

    it('answers FAIL for a 32-hex signature that claims HMAC-SHA256', async () => {
      const { service, events } = setup();
      const fields = { ...notification().fields, sign_type: 'HMAC-SHA256' };
      const md5 = sign(fields, MERCHANT.apiKey, 'MD5');
      const result = await service.handle(buildXml({ ...fields, sign: md5 }));
      expect(result.reason).toBe('BAD_SIGNATURE');
      expect(events).toHaveLength(0);
    });

    it('answers FAIL for a sign_type it does not know', async () => {
      const { service, events } = setup();
      const result = await service.handle(notification({ fields: { sign_type: 'SHA1' } }).xml);
      expect(result.reason).toBe('BAD_SIGNATURE');
      expect(events).toHaveLength(0);
    });
  });

  describe('fields the typed event does not name', () => {
    it.each(['coupon_fee_0', 'sub_mch_id'])('accepts %s when it was signed', async (name) => {
      const { service, events } = setup();
      const result = await service.handle(notification({ fields: { [name]: '100' } }).xml);
      expect(result.accepted).toBe(true);
      expect(events[0].raw[name]).toBe('100');
    });

    it.each(['coupon_fee_0', 'sub_mch_id'])(
      'answers FAIL when %s is added after signing',
      async (name) => {
        const { service, events } = setup();
        const result = await service.handle(notification({ afterSigning: { [name]: '100' } }).xml);
        expect(result.reason).toBe('BAD_SIGNATURE');
        expect(events).toHaveLength(0);
      },
    );
  });

  describe('refusals', () => {
    it.each([
      ['the body is empty', '', 'EMPTY_BODY', 'empty body'],
      ['the body is only whitespace', '  \n', 'EMPTY_BODY', 'empty body'],
      ['the body is not XML', '{"return_code":"SUCCESS"}', 'INVALID_XML', 'invalid XML'],
      ['the XML is malformed', '<xml><return_code>SUCCESS</xml>', 'INVALID_XML', 'invalid XML'],
      [
        'the body declares an entity (XXE)',
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>',
        'INVALID_XML',
        'invalid XML',
      ],
      [
        'a field is nested',
        '<xml><return_code><a>1</a></return_code></xml>',
        'INVALID_XML',
        'invalid XML',
      ],
      [
        'return_code is FAIL',
        '<xml><return_code>FAIL</return_code><return_msg>x</return_msg></xml>',
        'RETURN_CODE_FAIL',
        'return_code is not SUCCESS',
      ],
    ] as const)('answers FAIL when %s', async (_case, body, reason, message) => {
      const { service, events } = setup();
      const result = await service.handle(body);
      expect(result).toMatchObject({ accepted: false, reason });
      expect(await parseNotifyReply(result.reply)).toEqual({
        returnCode: 'FAIL',
        returnMsg: message,
      });
      expect(events).toHaveLength(0);
    });

    it('answers FAIL when the bytes are not UTF-8', async () => {
      const { service } = setup();
      const body = Buffer.concat([
        Buffer.from('<xml><a>'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('</a></xml>'),
      ]);
      expect((await service.handle(body)).reason).toBe('INVALID_XML');
    });

    it('answers FAIL when the body exceeds maxBodyBytes', async () => {
      const { service, events } = setup({ maxBodyBytes: 1024 });
      const { xml } = notification({ attach: 'x'.repeat(1024) });
      const result = await service.handle(xml);
      expect(result.reason).toBe('BODY_TOO_LARGE');
      expect(events).toHaveLength(0);
    });

    it('answers FAIL when the notification has no sign', async () => {
      const { service, events } = setup();
      const result = await service.handle(notification({ sign: null }).xml);
      expect(result.reason).toBe('MISSING_SIGNATURE');
      expect(events).toHaveLength(0);
    });

    it('answers FAIL when the signature is wrong', async () => {
      const { service, events } = setup();
      const result = await service.handle(notification({ sign: 'A'.repeat(32) }).xml);
      expect(result.reason).toBe('BAD_SIGNATURE');
      expect(await parseNotifyReply(result.reply)).toEqual({
        returnCode: 'FAIL',
        returnMsg: 'invalid sign',
      });
      expect(events).toHaveLength(0);
    });

    it('answers FAIL when the amount was changed after signing', async () => {
      const { service, events } = setup();
      const result = await service.handle(
        notification({ totalFee: 1, afterSigning: { total_fee: 100000 } }).xml,
      );
      expect(result.reason).toBe('BAD_SIGNATURE');
      expect(events).toHaveLength(0);
    });

    it('answers FAIL when it was signed with another key', async () => {
      const { service, events } = setup();
      const result = await service.handle(notification({ apiKey: 'z'.repeat(32) }).xml);
      expect(result.reason).toBe('BAD_SIGNATURE');
      expect(events).toHaveLength(0);
    });

    it('answers FAIL for a correctly signed notification to another appid', async () => {
      const { service, events } = setup();
      const result = await service.handle(notification({ appId: 'wx0000000000000000' }).xml);
      expect(result.reason).toBe('APPID_MISMATCH');
      expect(events).toHaveLength(0);
    });

    it('answers FAIL for a correctly signed notification to another mch_id', async () => {
      const { service, events } = setup();
      const result = await service.handle(notification({ mchId: '1900000110' }).xml);
      expect(result.reason).toBe('MCH_ID_MISMATCH');
      expect(events).toHaveLength(0);
    });

    it.each([
      'transaction_id',
      'out_trade_no',
      'total_fee',
      'cash_fee',
      'openid',
      'time_end',
      'result_code',
    ])('answers FAIL when the signed notification lacks %s', async (name) => {
      const { service, events } = setup();
      const result = await service.handle(notification({ fields: { [name]: undefined } }).xml);
      expect(result.reason).toBe('MISSING_FIELD');
      expect(events).toHaveLength(0);
    });

    it.each([
      ['total_fee', '88.00'],
      ['total_fee', '-1'],
      ['cash_fee', '1e3'],
      ['cash_fee', ' 88'],
      ['total_fee', String(MAX_FEN + 1)],
      ['cash_fee', '99999999999999999999'],
    ])('answers FAIL when the signed %s is %j', async (name, value) => {
      const { service, events } = setup();
      const result = await service.handle(notification({ fields: { [name]: value } }).xml);
      expect(result.reason).toBe('INVALID_FIELD');
      expect(events).toHaveLength(0);
    });
  });

  describe('result_code=FAIL', () => {
    it('acknowledges a verified result_code=FAIL notification without calling handlers', async () => {
      const { service, events } = setup();
      const { xml } = notification({
        resultCode: 'FAIL',
        fields: { err_code: 'SYSTEMERROR', transaction_id: undefined },
      });
      const result = await service.handle(xml);
      expect(result.accepted).toBe(true);
      expect(result.event).toBeUndefined();
      expect(await parseNotifyReply(result.reply)).toEqual({
        returnCode: 'SUCCESS',
        returnMsg: 'OK',
      });
      expect(events).toHaveLength(0);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('result_code=FAIL'));
    });

    it('still answers FAIL for a result_code=FAIL notification whose signature is wrong', async () => {
      const { service } = setup();
      const result = await service.handle(
        notification({ resultCode: 'FAIL', sign: 'B'.repeat(32) }).xml,
      );
      expect(result.reason).toBe('BAD_SIGNATURE');
    });
  });

  describe('handlers', () => {
    it('awaits every handler in order before answering', async () => {
      const { service, registry, events } = setup();
      const order: string[] = [];
      registry.register('Test.slow', async () => {
        await new Promise((resolve) => setImmediate(resolve));
        order.push('slow');
      });
      registry.register('Test.last', () => {
        order.push('last');
      });
      const result = await service.handle(notification().xml);
      expect(result.accepted).toBe(true);
      expect(events).toHaveLength(1);
      expect(order).toEqual(['slow', 'last']);
    });

    it('answers FAIL without leaking the error when a handler throws, and skips later handlers', async () => {
      const { service, registry } = setup();
      const later = jest.fn();
      registry.register('Orders.markPaid', () => {
        throw new Error('connection to db://admin:hunter2@10.0.0.5 refused');
      });
      registry.register('Test.later', later);
      const result = await service.handle(notification({ outTradeNo: 'ORDER-77' }).xml);
      expect(result).toMatchObject({ accepted: false, reason: 'HANDLER_FAILED' });
      expect(await parseNotifyReply(result.reply)).toEqual({
        returnCode: 'FAIL',
        returnMsg: 'handler failed',
      });
      expect(result.reply).not.toContain('hunter2');
      expect(later).not.toHaveBeenCalled();
      expect(error).toHaveBeenCalledWith(
        expect.stringContaining('Orders.markPaid failed for out_trade_no ORDER-77'),
      );
    });

    it('answers FAIL when a handler rejects asynchronously', async () => {
      const { service, registry } = setup();
      registry.register('Test.reject', () => Promise.reject(new Error('later')));
      expect((await service.handle(notification().xml)).reason).toBe('HANDLER_FAILED');
    });

    it('answers FAIL when no handler is registered', async () => {
      const config = resolveWechatPayConfig({ ...MERCHANT, signType: 'MD5' });
      const service = new WechatPayNotifyService(
        config,
        new WechatPaySigner(config),
        emptyRegistry(),
        new WechatPayHookRunner({ ...MERCHANT }),
      );
      const result = await service.handle(notification().xml);
      expect(result).toMatchObject({ accepted: false, reason: 'NO_HANDLER' });
      expect(await parseNotifyReply(result.reply)).toEqual({
        returnCode: 'FAIL',
        returnMsg: 'no handler',
      });
    });
  });

  it('never writes the API key into a reply or a log line', async () => {
    const { service, registry } = setup();
    registry.register('Test.fail', () => {
      throw new Error('boom');
    });
    const replies = await Promise.all([
      service.handle(notification().xml),
      service.handle(notification({ sign: 'C'.repeat(32) }).xml),
      service.handle('<xml><'),
    ]);
    const logged = [...warn.mock.calls, ...error.mock.calls].flat().join('\n');
    for (const text of [...replies.map((r) => r.reply), logged]) {
      expect(text).not.toContain(MERCHANT.apiKey);
    }
    expect(logged).toContain('boom');
  });
});

describe('WechatPayNotifyService.verify, dispatch and handle', () => {
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  it('verifies without dispatching: the typed notification comes back and no handler runs', async () => {
    const { service, events } = setup();
    const verified = await service.verify(
      notification({ outTradeNo: 'ORDER-V1', totalFee: 42 }).xml,
    );
    expect(verified).toMatchObject({
      resultCode: 'SUCCESS',
      appId: MERCHANT.appId,
      mchId: MERCHANT.mchId,
      outTradeNo: 'ORDER-V1',
      totalFee: 42,
    });
    expect(events).toHaveLength(0);
    await service.dispatch(verified);
    expect(events.map((e) => e.outTradeNo)).toEqual(['ORDER-V1']);
  });

  it.each<[string, () => string, NotifyRejectReason]>([
    ['an empty body', () => '', 'EMPTY_BODY'],
    ['invalid XML', () => '<xml><a>1</a></xml>junk', 'INVALID_XML'],
    ['no sign', () => notification({ sign: null }).xml, 'MISSING_SIGNATURE'],
    ['a wrong sign', () => notification({ sign: 'D'.repeat(32) }).xml, 'BAD_SIGNATURE'],
    ['another appid', () => notification({ appId: 'wx0000000000000000' }).xml, 'APPID_MISMATCH'],
    [
      'an amount past MAX_FEN',
      () => notification({ fields: { total_fee: '9007199254740992' } }).xml,
      'INVALID_FIELD',
    ],
    ['an unknown result_code', () => notification({ resultCode: 'MAYBE' }).xml, 'INVALID_FIELD'],
  ])(
    'throws a WechatPayNotifyError for %s, with the precise reason',
    async (_case, body, reason) => {
      const { service } = setup();
      await expect(refusal(service.verify(body()))).resolves.toBe(reason);
    },
  );

  it('reads a signed total_fee of 2^31 fen and more exactly', async () => {
    const { service } = setup();
    const verified = await service.verify(
      notification({ totalFee: 2 ** 31, cashFee: MAX_FEN }).xml,
    );
    expect(verified).toMatchObject({ totalFee: 2147483648, cashFee: MAX_FEN });
  });

  it('returns a verified result_code=FAIL notification as such, and dispatch does nothing with it', async () => {
    const { service, events } = setup();
    const verified = await service.verify(
      notification({
        resultCode: 'FAIL',
        outTradeNo: 'ORDER-F1',
        fields: { err_code: 'BANKERROR' },
      }).xml,
    );
    expect(verified).toMatchObject({
      resultCode: 'FAIL',
      outTradeNo: 'ORDER-F1',
      errCode: 'BANKERROR',
    });
    await service.dispatch(verified);
    expect(events).toHaveLength(0);
  });

  it('dispatch throws HANDLER_FAILED with the handler error as cause, and NO_HANDLER without handlers', async () => {
    const failing = emptyRegistry();
    const cause = new Error('db down');
    failing.register('Orders.fail', () => {
      throw cause;
    });
    const { service } = setup({}, failing);
    const verified = await service.verify(notification().xml);
    const error = await service.dispatch(verified).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WechatPayNotifyError);
    expect(error).toMatchObject({ reason: 'HANDLER_FAILED', cause, code: 'NOTIFY_REJECTED' });
    expect((error as Error).message).not.toContain('db down');
  });

  it('reports every outcome of handle() to the onNotification hook', async () => {
    const registry = emptyRegistry();
    let fail = false;
    registry.register('Test.maybeFail', () => {
      if (fail) throw new Error('no');
    });
    const { service, outcomes } = setup({}, registry);
    await service.handle(notification().xml);
    await service.handle(notification({ resultCode: 'FAIL' }).xml);
    await service.handle(notification({ sign: 'E'.repeat(32) }).xml);
    fail = true;
    await service.handle(notification().xml);
    expect(outcomes).toEqual([
      { kind: 'payment', outcome: 'HANDLED' },
      { kind: 'payment', outcome: 'ACKNOWLEDGED' },
      { kind: 'payment', outcome: 'BAD_SIGNATURE' },
      { kind: 'payment', outcome: 'HANDLER_FAILED' },
    ]);
  });

  it('keeps the reply when the onNotification hook throws, and logs that once', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { service } = setup({
      hooks: {
        onNotification: () => {
          throw new Error('metrics registry closed');
        },
      },
    });
    const first = await service.handle(notification().xml);
    const second = await service.handle(notification({ sign: 'E'.repeat(32) }).xml);
    expect(first.accepted).toBe(true);
    expect(second.reason).toBe('BAD_SIGNATURE');
    const hookLines = error.mock.calls.filter(([line]) => String(line).includes('onNotification'));
    expect(hookLines).toHaveLength(1);
  });
});

describe('notifyReply', () => {
  it('maps the outcome of verify and dispatch in a host route to the v2 reply', async () => {
    expect(await parseNotifyReply(notifyReply())).toEqual({
      returnCode: 'SUCCESS',
      returnMsg: 'OK',
    });
    expect(
      await parseNotifyReply(notifyReply(new WechatPayNotifyError('BAD_SIGNATURE', 'x'))),
    ).toEqual({ returnCode: 'FAIL', returnMsg: 'invalid sign' });
    const internal = notifyReply(new Error('secret detail db://u:p@h'));
    expect(await parseNotifyReply(internal)).toEqual({
      returnCode: 'FAIL',
      returnMsg: 'internal error',
    });
    expect(internal).not.toContain('secret detail');
  });
});

describe('buildNotifyReply', () => {
  it('builds the v2 SUCCESS reply WeChat expects', () => {
    expect(buildNotifyReply('SUCCESS')).toBe(
      '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>',
    );
  });

  it('builds a FAIL reply carrying the given reason', () => {
    expect(buildNotifyReply('FAIL', 'invalid sign')).toBe(
      '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[invalid sign]]></return_msg></xml>',
    );
  });
});
