import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Test } from '@nestjs/testing';
import { resolveWechatPayConfig, WechatPayConfig } from '../config/wechat-pay.options';
import {
  WechatPayBusinessError,
  WechatPayError,
  WechatPayProtocolError,
  WechatPayRequestError,
  WechatPayReturnError,
  WechatPaySignatureError,
  WechatPayTransportError,
} from '../errors/errors';
import { createNonce, sign, verify, type SignType } from '../signer/sign';
import { WechatPaySigner } from '../signer/signer.service';
import { buildXml, parseXml } from '../xml/xml-codec';
import { WechatPayGateway } from './gateway.service';
import type { UnifiedOrderRequest } from './gateway.types';
import { WechatPayTransport } from './transport';
import { WechatPayHookRunner, type WechatPayGatewayCallEvent } from '../hooks/hooks';
import { WECHAT_PAY_MODULE_OPTIONS } from '../wechat-pay.constants';
import { MAX_FEN } from '../util/money';

const APP_ID = 'wxd930ea5d5a258f4f';
const MCH_ID = '10000100';
const KEY = '192006250b4c09247ec02edce69f6a2d';
const TRANSACTION_ID = '4200000288201903177135850941';
const PREPAY_ID = 'wx201411101639507cbf6ffd8b0779950874';

/** What the fake WeChat server saw. */
interface Received {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
}

interface Answer {
  status?: number;
  contentType?: string;
  body: string;
}

type Responder = (request: Received, fields: Record<string, string>) => Answer;

/** A signed WeChat Pay answer, as the real server would sign it with the shared key. */
function signedXml(fields: Record<string, string>, signType: SignType): Answer {
  return { body: buildXml({ ...fields, sign: sign(fields, KEY, signType) }) };
}

function success(extra: Record<string, string> = {}): Record<string, string> {
  return {
    return_code: 'SUCCESS',
    return_msg: 'OK',
    appid: APP_ID,
    mch_id: MCH_ID,
    nonce_str: createNonce(),
    result_code: 'SUCCESS',
    ...extra,
  };
}

/** Answers with the algorithm the request declared, as WeChat does. */
function signedLikeTheRequest(extra: Record<string, string> = {}): Responder {
  return (_request, fields) => signedXml(success(extra), fields.sign_type as SignType);
}

const order: UnifiedOrderRequest = {
  outTradeNo: '20150806125346',
  body: '腾讯充值中心-QQ会员充值',
  totalFee: 88,
  openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
  spbillCreateIp: '123.12.12.123',
};

async function failure(promise: Promise<unknown>): Promise<WechatPayError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof WechatPayError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('WechatPayGateway', () => {
  let server: http.Server;
  let base: string;
  let respond: Responder;
  const received: Received[] = [];
  let config: WechatPayConfig;
  let gateway: WechatPayGateway;
  let transport: WechatPayTransport;
  const calls: WechatPayGatewayCallEvent[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        void (async () => {
          const url = new URL(req.url ?? '/', 'http://wechat.test');
          const request: Received = {
            method: req.method ?? '',
            path: url.pathname,
            query: url.searchParams,
            headers: req.headers,
            rawBody: Buffer.concat(chunks).toString('utf8'),
          };
          received.push(request);
          const fields = req.method === 'POST' ? await parseXml(request.rawBody) : {};
          const answer = respond(request, fields);
          res.writeHead(answer.status ?? 200, {
            'Content-Type': answer.contentType ?? 'text/plain',
          });
          res.end(answer.body);
        })();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const options = {
      appId: APP_ID,
      mchId: MCH_ID,
      apiKey: KEY,
      signType: 'HMAC-SHA256' as const,
      notifyUrl: 'https://example.com/wxpay/notify',
      baseUrl: base,
      readTimeoutMs: 2000,
      hooks: { onGatewayCall: (event: WechatPayGatewayCallEvent) => calls.push(event) },
    };
    const moduleRef = await Test.createTestingModule({
      providers: [
        { provide: WechatPayConfig, useValue: resolveWechatPayConfig(options) },
        { provide: WECHAT_PAY_MODULE_OPTIONS, useValue: options },
        WechatPayHookRunner,
        WechatPaySigner,
        WechatPayTransport,
        WechatPayGateway,
      ],
    }).compile();
    config = moduleRef.get(WechatPayConfig);
    gateway = moduleRef.get(WechatPayGateway);
    transport = moduleRef.get(WechatPayTransport);
  });

  afterAll(async () => {
    transport.onModuleDestroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    received.length = 0;
    calls.length = 0;
    respond = () => ({ status: 500, body: 'no responder set' });
  });

  async function receivedFields(index = 0): Promise<Record<string, string>> {
    return parseXml(received[index].rawBody);
  }

  describe('unifiedOrder', () => {
    it('sends a complete, signed JSAPI order with a UTF-8 Chinese body in CDATA', async () => {
      respond = signedLikeTheRequest({ trade_type: 'JSAPI', prepay_id: PREPAY_ID });

      const result = await gateway.unifiedOrder(order);

      expect(received).toHaveLength(1);
      const [request] = received;
      expect(request.method).toBe('POST');
      expect(request.path).toBe('/pay/unifiedorder');
      expect(request.headers['content-type']).toBe('text/xml; charset=utf-8');
      expect(request.rawBody).toContain('<body><![CDATA[腾讯充值中心-QQ会员充值]]></body>');
      expect(request.rawBody).toContain('<total_fee>88</total_fee>');
      const fields = await receivedFields();
      expect(fields).toEqual({
        appid: APP_ID,
        mch_id: MCH_ID,
        out_trade_no: '20150806125346',
        body: '腾讯充值中心-QQ会员充值',
        total_fee: '88',
        openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
        spbill_create_ip: '123.12.12.123',
        notify_url: 'https://example.com/wxpay/notify',
        trade_type: 'JSAPI',
        nonce_str: expect.stringMatching(/^[0-9A-Za-z]{32}$/),
        sign_type: 'HMAC-SHA256',
        sign: expect.stringMatching(/^[0-9A-F]{64}$/),
      });
      expect(verify(fields, KEY, { fallback: 'MD5', expected: 'HMAC-SHA256' })).toBe(true);

      expect(result.prepayId).toBe(PREPAY_ID);
      expect(result.tradeType).toBe('JSAPI');
      expect(result.signType).toBe('HMAC-SHA256');
      expect(result.raw.prepay_id).toBe(PREPAY_ID);
    });

    it('declares and signs with the per-order sign type and sends fee_type only when given', async () => {
      respond = signedLikeTheRequest({ trade_type: 'JSAPI', prepay_id: PREPAY_ID });

      const result = await gateway.unifiedOrder({ ...order, signType: 'MD5', feeType: 'CNY' });

      const fields = await receivedFields();
      expect(fields.sign_type).toBe('MD5');
      expect(fields.fee_type).toBe('CNY');
      expect(fields.sign).toMatch(/^[0-9A-F]{32}$/);
      expect(verify(fields, KEY, { fallback: 'HMAC-SHA256', expected: 'MD5' })).toBe(true);
      expect(result.signType).toBe('MD5');
    });

    it('sends nothing when the request is invalid', async () => {
      respond = signedLikeTheRequest({ prepay_id: PREPAY_ID });

      const error = await failure(gateway.unifiedOrder({ ...order, totalFee: 0 }));

      expect(error).toBeInstanceOf(WechatPayRequestError);
      expect((error as WechatPayRequestError).field).toBe('totalFee');
      expect(received).toHaveLength(0);
    });

    it('refuses an answer without return_code as a protocol error that keeps the body', async () => {
      const body = '<xml><retcode>-1</retcode><retmsg>busy</retmsg></xml>';
      respond = () => ({ body });

      const error = await failure(gateway.unifiedOrder(order));

      expect(error).toBeInstanceOf(WechatPayProtocolError);
      expect(error.rawBody).toBe(body);
      expect(error.retryable).toBe(false);
    });

    it('surfaces return_msg of a FAIL answer without verifying it', async () => {
      const body = buildXml({
        return_code: 'FAIL',
        return_msg: 'JSAPI支付必须传openid',
        sign: 'BOGUS',
      });
      respond = () => ({ body });

      const error = await failure(gateway.unifiedOrder(order));

      expect(error).toBeInstanceOf(WechatPayReturnError);
      expect((error as WechatPayReturnError).returnMsg).toBe('JSAPI支付必须传openid');
      expect(error.message).toContain('JSAPI支付必须传openid');
      expect(error.rawBody).toBe(body);
    });

    it('rejects a SUCCESS answer whose signature is wrong', async () => {
      respond = () => {
        const fields = success({ prepay_id: PREPAY_ID });
        return {
          body: buildXml({
            ...fields,
            sign: sign({ ...fields, prepay_id: 'wx0' }, KEY, 'HMAC-SHA256'),
          }),
        };
      };

      const error = await failure(gateway.unifiedOrder(order));

      expect(error).toBeInstanceOf(WechatPaySignatureError);
      expect(error.rawBody).toContain(PREPAY_ID);
    });

    it('rejects a SUCCESS answer that carries no signature', async () => {
      respond = () => ({ body: buildXml(success({ prepay_id: PREPAY_ID })) });

      expect(await failure(gateway.unifiedOrder(order))).toBeInstanceOf(WechatPaySignatureError);
    });

    it('rejects an answer signed with MD5 when the request declared HMAC-SHA256', async () => {
      respond = () => signedXml(success({ prepay_id: PREPAY_ID }), 'MD5');

      expect(await failure(gateway.unifiedOrder(order))).toBeInstanceOf(WechatPaySignatureError);
    });

    it('rejects an answer signed with HMAC-SHA256 when the request declared MD5', async () => {
      // A 64-hex signature would pass as HMAC if the algorithm were guessed from the answer.
      respond = () => signedXml(success({ prepay_id: PREPAY_ID }), 'HMAC-SHA256');

      const error = await failure(gateway.unifiedOrder({ ...order, signType: 'MD5' }));

      expect((await receivedFields()).sign_type).toBe('MD5');
      expect(error).toBeInstanceOf(WechatPaySignatureError);
    });

    it('rejects a correctly signed answer for another merchant as a protocol error', async () => {
      respond = (_request, fields) =>
        signedXml(
          success({ mch_id: '10000999', prepay_id: PREPAY_ID }),
          fields.sign_type as SignType,
        );

      const error = await failure(gateway.unifiedOrder(order));

      expect(error).toBeInstanceOf(WechatPayProtocolError);
      expect(error.message).toContain('mch_id');
    });

    it('reports result_code=FAIL with SYSTEMERROR as a retryable business error', async () => {
      respond = signedLikeTheRequest({
        result_code: 'FAIL',
        err_code: 'SYSTEMERROR',
        err_code_des: '系统错误',
      });

      const error = await failure(gateway.unifiedOrder(order));

      expect(error).toBeInstanceOf(WechatPayBusinessError);
      expect((error as WechatPayBusinessError).errCode).toBe('SYSTEMERROR');
      expect((error as WechatPayBusinessError).errCodeDes).toBe('系统错误');
      expect(error.retryable).toBe(true);
      expect(error.rawBody).toContain('SYSTEMERROR');
      expect(received).toHaveLength(1);
    });

    it('reports result_code=FAIL with ORDERPAID as a business error not to retry', async () => {
      respond = signedLikeTheRequest({
        result_code: 'FAIL',
        err_code: 'ORDERPAID',
        err_code_des: '该订单已支付',
      });

      const error = await failure(gateway.unifiedOrder(order));

      expect(error).toBeInstanceOf(WechatPayBusinessError);
      expect((error as WechatPayBusinessError).errCode).toBe('ORDERPAID');
      expect(error.retryable).toBe(false);
    });

    it('reports HTTP 500 as a retryable transport error that keeps status and body, without retrying', async () => {
      respond = () => ({ status: 500, body: 'upstream exploded' });

      const error = await failure(gateway.unifiedOrder(order));

      expect(error).toBeInstanceOf(WechatPayTransportError);
      expect((error as WechatPayTransportError).failure).toBe('HTTP_STATUS');
      expect((error as WechatPayTransportError).status).toBe(500);
      expect(error.retryable).toBe(true);
      expect(error.rawBody).toBe('upstream exploded');
      expect(received).toHaveLength(1);
    });

    it('reports HTTP 404 as a transport error not to retry', async () => {
      respond = () => ({ status: 404, body: 'not found' });

      const error = await failure(gateway.unifiedOrder(order));

      expect((error as WechatPayTransportError).failure).toBe('HTTP_STATUS');
      expect(error.retryable).toBe(false);
    });

    it('reports a non-XML body as a protocol error that keeps the body', async () => {
      respond = () => ({ body: '<html><body>502 Bad Gateway' });

      const error = await failure(gateway.unifiedOrder(order));

      expect(error).toBeInstanceOf(WechatPayProtocolError);
      expect(error.rawBody).toBe('<html><body>502 Bad Gateway');
    });

    it('reports a SUCCESS answer without prepay_id as a protocol error', async () => {
      respond = signedLikeTheRequest({ trade_type: 'JSAPI' });

      expect(await failure(gateway.unifiedOrder(order))).toBeInstanceOf(WechatPayProtocolError);
    });
  });

  describe('orderQuery', () => {
    const paid = {
      trade_state: 'SUCCESS',
      trade_state_desc: '支付成功',
      out_trade_no: '20150806125346',
      transaction_id: TRANSACTION_ID,
      total_fee: '88',
      cash_fee: '88',
      openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      trade_type: 'JSAPI',
      bank_type: 'CFT',
      time_end: '20150806125501',
      attach: '',
      device_info: '',
    };

    it('queries by out_trade_no and maps amounts to integers and ids to strings', async () => {
      respond = signedLikeTheRequest(paid);

      const result = await gateway.orderQuery({ outTradeNo: '20150806125346' });

      const fields = await receivedFields();
      expect(received[0].path).toBe('/pay/orderquery');
      expect(fields.out_trade_no).toBe('20150806125346');
      expect(fields).not.toHaveProperty('transaction_id');
      expect(fields.sign_type).toBe('HMAC-SHA256');
      expect(verify(fields, KEY, { fallback: 'MD5', expected: 'HMAC-SHA256' })).toBe(true);
      expect(result).toEqual({
        tradeState: 'SUCCESS',
        tradeStateDesc: '支付成功',
        outTradeNo: '20150806125346',
        appId: APP_ID,
        mchId: MCH_ID,
        transactionId: TRANSACTION_ID,
        totalFee: 88,
        cashFee: 88,
        openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
        tradeType: 'JSAPI',
        bankType: 'CFT',
        timeEnd: '20150806125501',
        raw: expect.objectContaining({ transaction_id: TRANSACTION_ID, total_fee: '88' }),
      });
    });

    it('queries by a 28-digit transaction_id and keeps it exactly as a string', async () => {
      respond = signedLikeTheRequest(paid);

      const result = await gateway.orderQuery({ transactionId: TRANSACTION_ID });

      const fields = await receivedFields();
      expect(fields.transaction_id).toBe(TRANSACTION_ID);
      expect(fields).not.toHaveProperty('out_trade_no');
      expect(result.transactionId).toBe(TRANSACTION_ID);
      expect(typeof result.transactionId).toBe('string');
      expect(result.outTradeNo).toBe('20150806125346');
      expect(result.totalFee).toBe(88);
    });

    it.each(['transaction_id', 'total_fee', 'cash_fee', 'time_end', 'openid'])(
      'refuses a paid answer without %s rather than invent it',
      async (name) => {
        for (const tradeState of ['SUCCESS', 'REFUND']) {
          respond = signedLikeTheRequest({ ...paid, trade_state: tradeState, [name]: '' });
          const error = await failure(gateway.orderQuery({ outTradeNo: '20150806125346' }));
          expect(error).toBeInstanceOf(WechatPayProtocolError);
          expect(error.message).toContain(name);
        }
      },
    );

    it('gives a REFUND answer the same payment fields as a SUCCESS one', async () => {
      respond = signedLikeTheRequest({ ...paid, trade_state: 'REFUND' });
      const result = await gateway.orderQuery({ outTradeNo: '20150806125346' });
      expect(result.tradeState).toBe('REFUND');
      if (result.tradeState !== 'REFUND') return;
      expect([result.transactionId, result.totalFee, result.cashFee, result.timeEnd]).toEqual([
        TRANSACTION_ID,
        88,
        88,
        '20150806125501',
      ]);
    });

    it('reads amounts of 2^31 fen and MAX_FEN exactly, and refuses one fen more', async () => {
      respond = signedLikeTheRequest({
        ...paid,
        total_fee: '2147483648',
        cash_fee: String(MAX_FEN),
      });
      await expect(gateway.orderQuery({ outTradeNo: '20150806125346' })).resolves.toMatchObject({
        totalFee: 2147483648,
        cashFee: MAX_FEN,
      });
      respond = signedLikeTheRequest({ ...paid, total_fee: '9007199254740992' });
      const error = await failure(gateway.orderQuery({ outTradeNo: '20150806125346' }));
      expect(error).toBeInstanceOf(WechatPayProtocolError);
      expect(error.message).toContain('MAX_FEN');
    });

    it('refuses an answer that does not name its appid and mch_id', async () => {
      respond = (_request, fields) => {
        const answer: Record<string, string> = success(paid);
        delete answer.appid;
        return signedXml(answer, fields.sign_type as SignType);
      };
      expect(await failure(gateway.orderQuery({ outTradeNo: '20150806125346' }))).toBeInstanceOf(
        WechatPayProtocolError,
      );
    });

    it('maps a minimal NOTPAY answer without inventing amounts', async () => {
      respond = signedLikeTheRequest({
        trade_state: 'NOTPAY',
        trade_state_desc: '订单未支付',
        out_trade_no: '20150806125346',
      });

      const result = await gateway.orderQuery({ outTradeNo: '20150806125346' });

      expect(result.tradeState).toBe('NOTPAY');
      expect(result).not.toHaveProperty('totalFee');
      expect(result).not.toHaveProperty('transactionId');
    });

    it.each(['88.00', '-1', '1e3'])(
      'refuses a total_fee of %s as a protocol error',
      async (fee) => {
        respond = signedLikeTheRequest({ ...paid, total_fee: fee });

        expect(await failure(gateway.orderQuery({ outTradeNo: '20150806125346' }))).toBeInstanceOf(
          WechatPayProtocolError,
        );
      },
    );

    it('refuses an answer about a different order', async () => {
      respond = signedLikeTheRequest({ ...paid, out_trade_no: '20150806125999' });

      expect(await failure(gateway.orderQuery({ outTradeNo: '20150806125346' }))).toBeInstanceOf(
        WechatPayProtocolError,
      );
    });

    it('reports ORDERNOTEXIST as a business error', async () => {
      respond = signedLikeTheRequest({
        result_code: 'FAIL',
        err_code: 'ORDERNOTEXIST',
        err_code_des: '此交易订单号不存在',
      });

      const error = await failure(gateway.orderQuery({ outTradeNo: '20150806125346' }));

      expect((error as WechatPayBusinessError).errCode).toBe('ORDERNOTEXIST');
    });

    it('sends nothing when both ids are given', async () => {
      const error = await failure(
        gateway.orderQuery({
          outTradeNo: '20150806125346',
          transactionId: TRANSACTION_ID,
        } as never),
      );

      expect(error).toBeInstanceOf(WechatPayRequestError);
      expect(received).toHaveLength(0);
    });
  });

  describe('closeOrder', () => {
    it('closes by out_trade_no and returns the verified answer', async () => {
      respond = signedLikeTheRequest({ result_msg: 'OK' });

      const result = await gateway.closeOrder('20150806125346');

      const fields = await receivedFields();
      expect(received[0].path).toBe('/pay/closeorder');
      expect(fields.out_trade_no).toBe('20150806125346');
      expect(verify(fields, KEY, { fallback: 'MD5', expected: 'HMAC-SHA256' })).toBe(true);
      expect(result.raw.result_code).toBe('SUCCESS');
    });

    it('reports ORDERPAID as a business error', async () => {
      respond = signedLikeTheRequest({
        result_code: 'FAIL',
        err_code: 'ORDERPAID',
        err_code_des: '订单已支付',
      });

      const error = await failure(gateway.closeOrder('20150806125346'));

      expect((error as WechatPayBusinessError).errCode).toBe('ORDERPAID');
    });
  });

  describe('createJsapiPayment', () => {
    it.each(['MD5', 'HMAC-SHA256'] as const)(
      'returns pay parameters signed with the order sign type %s',
      async (signType) => {
        respond = signedLikeTheRequest({ trade_type: 'JSAPI', prepay_id: PREPAY_ID });

        const { order: created, payParams } = await gateway.createJsapiPayment({
          ...order,
          signType,
        });

        expect((await receivedFields()).sign_type).toBe(signType);
        expect(created.signType).toBe(signType);
        expect(payParams.signType).toBe(signType);
        expect(payParams.package).toBe(`prepay_id=${PREPAY_ID}`);
        expect(payParams.timeStamp).toMatch(/^\d{10}$/);
        const signed = {
          appId: APP_ID,
          nonceStr: payParams.nonceStr,
          package: payParams.package,
          signType: payParams.signType,
          timeStamp: payParams.timeStamp,
          sign: payParams.paySign,
        };
        expect(verify(signed, KEY, { fallback: 'MD5', expected: signType })).toBe(true);
      },
    );
  });

  describe('hooks', () => {
    it('reports each call with its endpoint and result: SUCCESS, the err_code, or the error code', async () => {
      respond = signedLikeTheRequest({ prepay_id: PREPAY_ID, trade_type: 'JSAPI' });
      await gateway.unifiedOrder(order);
      respond = signedLikeTheRequest({
        result_code: 'FAIL',
        err_code: 'ORDERNOTEXIST',
        err_code_des: 'order not exist',
      });
      await failure(gateway.orderQuery({ outTradeNo: '20150806125346' }));
      respond = () => ({ body: buildXml({ return_code: 'FAIL', return_msg: '签名错误' }) });
      await failure(gateway.closeOrder('20150806125346'));
      respond = () => ({ status: 502, body: 'bad gateway' });
      await failure(gateway.orderQuery({ outTradeNo: '20150806125346' }));
      respond = (_request, fields) => ({
        body: buildXml({ ...success(), sign: 'F'.repeat(fields.sign_type === 'MD5' ? 32 : 64) }),
      });
      await failure(gateway.closeOrder('20150806125346'));

      expect(calls.map(({ endpoint, result }) => [endpoint, result])).toEqual([
        ['/pay/unifiedorder', 'SUCCESS'],
        ['/pay/orderquery', 'ORDERNOTEXIST'],
        ['/pay/closeorder', 'RETURN_FAIL'],
        ['/pay/orderquery', 'TRANSPORT'],
        ['/pay/closeorder', 'BAD_SIGNATURE'],
      ]);
      for (const call of calls) {
        expect(call.durationMs).toBeGreaterThanOrEqual(0);
        expect(call.durationMs).toBeLessThan(5000);
      }
    });

    it('does not report a request refused before anything was sent', async () => {
      await failure(gateway.unifiedOrder({ ...order, totalFee: 0 }));
      expect(calls).toHaveLength(0);
      expect(received).toHaveLength(0);
    });
  });

  describe('payParams', () => {
    it('signs with the configured sign type by default', () => {
      const params = gateway.payParams(PREPAY_ID);
      expect(params.signType).toBe(config.signType);
      expect(params.paySign).toMatch(/^[0-9A-F]{64}$/);
    });
  });
});
