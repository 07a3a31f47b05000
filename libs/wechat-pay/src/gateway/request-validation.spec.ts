import { WechatPayRequestError } from '../errors/errors';
import type { OrderQueryRequest, UnifiedOrderRequest } from './gateway.types';
import {
  validateJsCode,
  validateOrderQueryRequest,
  validateUnifiedOrderRequest,
} from './request-validation';
import { MAX_FEN } from '../util/money';

/** The field a WechatPayRequestError names, or undefined when nothing was refused. */
function refusedField(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof WechatPayRequestError) return error.field;
    throw error;
  }
  return undefined;
}

// 2024-05-01 12:00:00 Beijing time.
const NOW = new Date('2024-05-01T04:00:00Z');

const valid: UnifiedOrderRequest = {
  outTradeNo: 'order_2024-05|01*a',
  body: '腾讯充值中心-QQ会员充值',
  totalFee: 88,
  openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
  spbillCreateIp: '123.12.12.123',
  notifyUrl: 'https://example.com/wxpay/notify',
};

/** Runs the unifiedorder validator on `valid` with some fields replaced (a loose type, as JS callers send). */
function order(change: Record<string, unknown>, defaults: { notifyUrl?: string } = {}) {
  return validateUnifiedOrderRequest({ ...valid, ...change } as UnifiedOrderRequest, defaults, NOW);
}

describe('validateUnifiedOrderRequest', () => {
  it('turns a valid request into WeChat field names', () => {
    expect(order({ attach: 'a=1', feeType: 'CNY', limitPay: 'no_credit' })).toEqual({
      out_trade_no: 'order_2024-05|01*a',
      body: '腾讯充值中心-QQ会员充值',
      total_fee: 88,
      openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      spbill_create_ip: '123.12.12.123',
      notify_url: 'https://example.com/wxpay/notify',
      attach: 'a=1',
      fee_type: 'CNY',
      limit_pay: 'no_credit',
    });
  });

  it('leaves out optional fields that were not given or are empty', () => {
    const fields = order({ attach: '' });
    expect(Object.keys(fields)).not.toContain('attach');
    expect(Object.keys(fields)).not.toContain('fee_type');
    expect(Object.keys(fields)).not.toContain('time_expire');
  });

  describe('outTradeNo', () => {
    it.each(['123456', 'a'.repeat(32), 'AZaz09_-|*'])('accepts %s', (outTradeNo) => {
      expect(order({ outTradeNo }).out_trade_no).toBe(outTradeNo);
    });
    it.each([
      ['fewer than 6 characters', '12345'],
      ['more than 32 characters', 'a'.repeat(33)],
      ['a dot', 'order.123'],
      ['a Chinese character', '订单123456'],
      ['a non-string', 123456],
      ['nothing', undefined],
    ])('refuses %s', (_case, outTradeNo) => {
      expect(refusedField(() => order({ outTradeNo }))).toBe('outTradeNo');
    });
  });

  describe('body', () => {
    it('counts characters as code points, so 127 emoji are accepted', () => {
      const body = '😀'.repeat(127);
      expect(body.length).toBe(254);
      expect(order({ body }).body).toBe(body);
    });
    it('accepts 127 Chinese characters', () => {
      expect(order({ body: '中'.repeat(127) }).body).toHaveLength(127);
    });
    it.each([
      ['an empty body', ''],
      ['128 characters', '中'.repeat(128)],
      ['a leading space', ' 充值'],
      ['a trailing newline', '充值\n'],
      ['a trailing ideographic space', '充值\u3000'],
      ['a control character', 'a\u0001b'],
      ['a lone surrogate', 'a\ud800b'],
    ])('refuses %s', (_case, body) => {
      expect(refusedField(() => order({ body }))).toBe('body');
    });
  });

  describe('totalFee', () => {
    it('accepts MAX_FEN, the shared limit, and names it when refusing one fen more', () => {
      expect(order({ totalFee: MAX_FEN }).total_fee).toBe(MAX_FEN);
      expect(() => order({ totalFee: MAX_FEN + 1 })).toThrow(`from 1 to ${MAX_FEN}`);
    });
    it.each([1, 88, 2 ** 31, Number.MAX_SAFE_INTEGER])('accepts %p fen', (totalFee) => {
      expect(order({ totalFee }).total_fee).toBe(totalFee);
    });
    it.each([0, -1, 0.5, 88.1, NaN, Infinity, Number.MAX_SAFE_INTEGER + 1, '88', null])(
      'refuses %p',
      (totalFee) => {
        expect(refusedField(() => order({ totalFee }))).toBe('totalFee');
      },
    );
  });

  describe('openid', () => {
    it('accepts 128 characters', () => {
      expect(order({ openid: 'o'.repeat(128) }).openid).toHaveLength(128);
    });
    it.each([
      ['an empty openid', ''],
      ['a missing openid', undefined],
      ['129 characters', 'o'.repeat(129)],
    ])('refuses %s because JSAPI needs the payer', (_case, openid) => {
      expect(refusedField(() => order({ openid }))).toBe('openid');
    });
  });

  describe('notifyUrl', () => {
    it('falls back to the configured notify URL', () => {
      expect(
        order({ notifyUrl: undefined }, { notifyUrl: 'http://10.0.0.1:8080/notify' }).notify_url,
      ).toBe('http://10.0.0.1:8080/notify');
    });
    it('prefers the request notify URL over the configured one', () => {
      expect(order({}, { notifyUrl: 'https://other.example.com/n' }).notify_url).toBe(
        'https://example.com/wxpay/notify',
      );
    });
    it('accepts exactly 256 characters', () => {
      const notifyUrl = `https://example.com/${'p'.repeat(256 - 'https://example.com/'.length)}`;
      expect(order({ notifyUrl }).notify_url).toHaveLength(256);
    });
    it.each([
      ['no URL in the request nor the config', undefined],
      ['a relative URL', '/wxpay/notify'],
      ['an ftp URL', 'ftp://example.com/notify'],
      ['a query string', 'https://example.com/notify?order=1'],
      ['a fragment', 'https://example.com/notify#x'],
      ['257 characters', `https://example.com/${'p'.repeat(257 - 'https://example.com/'.length)}`],
      ['whitespace inside', 'https://example.com/no tify'],
    ])('refuses %s', (_case, notifyUrl) => {
      expect(refusedField(() => order({ notifyUrl }))).toBe('notifyUrl');
    });
    it('checks a configured notify URL with the same rules', () => {
      expect(
        refusedField(() =>
          order({ notifyUrl: undefined }, { notifyUrl: 'https://example.com/n?x=1' }),
        ),
      ).toBe('notifyUrl');
    });
  });

  describe('spbillCreateIp', () => {
    it.each(['123.12.12.123', '::1', '2001:db8::8a2e:370:7334'])('accepts %s', (spbillCreateIp) => {
      expect(order({ spbillCreateIp }).spbill_create_ip).toBe(spbillCreateIp);
    });
    it.each(['256.1.1.1', 'localhost', '1.2.3', '', ' 1.2.3.4'])('refuses %p', (spbillCreateIp) => {
      expect(refusedField(() => order({ spbillCreateIp }))).toBe('spbillCreateIp');
    });
  });

  describe('attach and detail', () => {
    it('accepts 127 characters of attach and 6000 of detail', () => {
      const fields = order({ attach: '附'.repeat(127), detail: 'd'.repeat(6000) });
      expect(fields.attach).toHaveLength(127);
      expect(fields.detail).toHaveLength(6000);
    });
    it('refuses 128 characters of attach', () => {
      expect(refusedField(() => order({ attach: '附'.repeat(128) }))).toBe('attach');
    });
    it('refuses 6001 characters of detail', () => {
      expect(refusedField(() => order({ detail: 'd'.repeat(6001) }))).toBe('detail');
    });
    it('refuses an attach with trailing whitespace, which would sign ambiguously', () => {
      expect(refusedField(() => order({ attach: 'note ' }))).toBe('attach');
    });
  });

  describe('other optional fields', () => {
    it.each([
      ['feeType', { feeType: 'USD' }],
      ['limitPay', { limitPay: 'credit' }],
      ['signType', { signType: 'SHA1' }],
      ['deviceInfo', { deviceInfo: 'd'.repeat(33) }],
      ['goodsTag', { goodsTag: ' tag' }],
    ])('refuses a bad %s', (field, change) => {
      expect(refusedField(() => order(change))).toBe(field);
    });
  });

  describe('timeStart and timeExpire', () => {
    it('accepts Beijing times and formats Dates as Beijing time', () => {
      const fields = order({
        timeStart: new Date('2024-05-01T04:00:00Z'),
        timeExpire: '20240501120500',
      });
      expect(fields.time_start).toBe('20240501120000');
      expect(fields.time_expire).toBe('20240501120500');
    });

    it('accepts a time_expire exactly 5 minutes after now when there is no time_start', () => {
      expect(order({ timeExpire: '20240501120500' }).time_expire).toBe('20240501120500');
    });

    it('refuses a time_expire less than 5 minutes after now', () => {
      expect(refusedField(() => order({ timeExpire: '20240501120459' }))).toBe('timeExpire');
    });

    it('refuses a time_expire less than 5 minutes after time_start', () => {
      expect(
        refusedField(() => order({ timeStart: '20240601000000', timeExpire: '20240601000400' })),
      ).toBe('timeExpire');
    });

    it('measures from time_start, not now, when both are given', () => {
      expect(order({ timeStart: '20240601000000', timeExpire: '20240601000500' }).time_expire).toBe(
        '20240601000500',
      );
    });

    it.each([
      ['a 31st of February', '20240231120000'],
      ['a 25th hour', '20240501250000'],
      ['a dashed date', '2024-05-01 12:00'],
      ['an invalid Date', new Date('nope')],
      ['a number', 20240501120000],
    ])('refuses %s as timeStart', (_case, timeStart) => {
      expect(refusedField(() => order({ timeStart }))).toBe('timeStart');
    });

    it('refuses an unreal time_expire', () => {
      expect(refusedField(() => order({ timeExpire: '20241301120000' }))).toBe('timeExpire');
    });
  });

  it('refuses a request that is not an object', () => {
    expect(
      refusedField(() => validateUnifiedOrderRequest(null as unknown as UnifiedOrderRequest, {})),
    ).toBe('request');
  });
});

describe('validateOrderQueryRequest', () => {
  it('accepts an out_trade_no', () => {
    expect(validateOrderQueryRequest({ outTradeNo: '20150806125346' })).toEqual({
      out_trade_no: '20150806125346',
    });
  });

  it('accepts a 28-digit transaction_id as a string', () => {
    expect(validateOrderQueryRequest({ transactionId: '4200000288201903177135850941' })).toEqual({
      transaction_id: '4200000288201903177135850941',
    });
  });

  it.each([
    ['both ids', { outTradeNo: '20150806125346', transactionId: '42000' }, 'transactionId'],
    ['neither id', {}, 'outTradeNo'],
    ['a transaction_id with letters', { transactionId: '42000a' }, 'transactionId'],
    ['a transaction_id of 33 digits', { transactionId: '4'.repeat(33) }, 'transactionId'],
    ['an empty transaction_id', { transactionId: '' }, 'transactionId'],
    ['a short out_trade_no', { outTradeNo: '123' }, 'outTradeNo'],
  ])('refuses %s', (_case, request, field) => {
    expect(refusedField(() => validateOrderQueryRequest(request as OrderQueryRequest))).toBe(field);
  });
});

describe('validateJsCode', () => {
  it('accepts a login code', () => {
    expect(validateJsCode('081aBcDe0xYz1z1Qw8Ge0AbCdE3aBcDq')).toBe(
      '081aBcDe0xYz1z1Qw8Ge0AbCdE3aBcDq',
    );
  });
  it.each([
    ['an empty code', ''],
    ['a code with a trailing space', 'abc '],
    ['a missing code', undefined],
  ])('refuses %s', (_case, code) => {
    expect(refusedField(() => validateJsCode(code))).toBe('jsCode');
  });
});

describe('request errors', () => {
  it('never echo the refused value', () => {
    let message = '';
    try {
      order({ attach: 'SECRETISH '.repeat(20) });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('attach');
    expect(message).not.toContain('SECRETISH');
  });
});
