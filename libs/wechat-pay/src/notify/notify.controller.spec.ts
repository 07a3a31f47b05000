import { Logger, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { resolveWechatPayConfig, WechatPayConfig } from '../config/wechat-pay.options';
import { parseNotifyReply } from '../testing';
import { WechatPayHookRunner } from '../hooks/hooks';
import { WECHAT_PAY_MODULE_OPTIONS } from '../wechat-pay.constants';
import { createNotifyController } from './notify.controller';
import { WechatPayNotifyService } from './notify.service';

describe('createNotifyController', () => {
  let app: INestApplication;
  const handle = jest.fn();
  let error: jest.SpyInstance;

  beforeEach(async () => {
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const options = {
      appId: 'wx1234567890abcdef',
      mchId: '1900000109',
      apiKey: 'k3y0123456789abcdefghijklmnopqrs',
    };
    const moduleRef = await Test.createTestingModule({
      controllers: [createNotifyController('pay/notify')],
      providers: [
        { provide: WechatPayConfig, useValue: resolveWechatPayConfig(options) },
        { provide: WECHAT_PAY_MODULE_OPTIONS, useValue: options },
        WechatPayHookRunner,
        { provide: WechatPayNotifyService, useValue: { handle } },
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
  });

  afterEach(async () => {
    await app.close();
    handle.mockReset();
    jest.restoreAllMocks();
  });

  it('passes the exact bytes received to the service and sends its reply as text/xml', async () => {
    handle.mockResolvedValue({
      accepted: true,
      reply: '<xml><return_code>SUCCESS</return_code></xml>',
    });
    const body = '<xml><attach><![CDATA[支付 & more]]></attach></xml>';

    const res = await request(app.getHttpServer()).post('/pay/notify').type('text/xml').send(body);

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/xml/);
    expect(res.text).toBe('<xml><return_code>SUCCESS</return_code></xml>');
    const [received] = handle.mock.calls[0] as [Buffer];
    expect(Buffer.isBuffer(received) && received.equals(Buffer.from(body, 'utf8'))).toBe(true);
  });

  it('answers 200 FAIL without detail when the service throws unexpectedly', async () => {
    handle.mockRejectedValue(new Error('pool exhausted at db://admin:pw@10.0.0.5'));

    const res = await request(app.getHttpServer())
      .post('/pay/notify')
      .type('text/xml')
      .send('<xml/>');

    expect(res.status).toBe(200);
    expect(await parseNotifyReply(res.text)).toEqual({
      returnCode: 'FAIL',
      returnMsg: 'internal error',
    });
    expect(res.text).not.toContain('pool exhausted');
    expect(error).toHaveBeenCalledWith(expect.stringContaining('pool exhausted'));
  });

  it('answers 200 FAIL without calling the service when the declared length exceeds the limit', async () => {
    const res = await request(app.getHttpServer())
      .post('/pay/notify')
      .type('text/xml')
      .send(`<xml><a>${'x'.repeat(64 * 1024)}</a></xml>`);

    expect(res.status).toBe(200);
    expect(await parseNotifyReply(res.text)).toEqual({
      returnCode: 'FAIL',
      returnMsg: 'body too large',
    });
    expect(handle).not.toHaveBeenCalled();
  });

  it('answers 200 FAIL without calling the service when only a parsed JSON object is left', async () => {
    const res = await request(app.getHttpServer())
      .post('/pay/notify')
      .send({ return_code: 'SUCCESS' });

    expect(res.status).toBe(200);
    expect(await parseNotifyReply(res.text)).toEqual({
      returnCode: 'FAIL',
      returnMsg: 'unsupported body',
    });
    expect(handle).not.toHaveBeenCalled();
  });
});
