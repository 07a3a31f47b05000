import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { resolveWechatPayConfig } from '../config/wechat-pay.options';
import {
  WechatPayConfigError,
  WechatPayError,
  WechatPayProtocolError,
  WechatPayRequestError,
  WechatPayTransportError,
} from '../errors/errors';
import { WechatPayTransport } from '../gateway/transport';
import { WechatPayHookRunner, type WechatPayGatewayCallEvent } from '../hooks/hooks';
import { WechatPayLoginError } from './login.errors';
import { WechatLoginService } from './login.service';

const APP_ID = 'wxd930ea5d5a258f4f';
const MCH_ID = '10000100';
const KEY = '192006250b4c09247ec02edce69f6a2d';
const APP_SECRET = 'APP-SECRET-0123456789abcdef';
const SESSION_KEY = 'tiihtNczf5v6AKRyjwEUhQ==';

/** What the fake login host saw. */
interface Received {
  method: string;
  path: string;
  query: URLSearchParams;
}

interface Answer {
  status?: number;
  contentType?: string;
  body: string;
}

async function failure(promise: Promise<unknown>): Promise<WechatPayError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof WechatPayError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

let server: http.Server;
let base: string;
let respond: () => Answer;
const received: Received[] = [];
const calls: WechatPayGatewayCallEvent[] = [];
let transport: WechatPayTransport;
let hooks: WechatPayHookRunner;
let login: WechatLoginService;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://wechat.test');
    received.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams });
    const answer = respond();
    res.writeHead(answer.status ?? 200, { 'Content-Type': answer.contentType ?? 'text/plain' });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const options = {
    appId: APP_ID,
    mchId: MCH_ID,
    apiKey: KEY,
    appSecret: APP_SECRET,
    apiBaseUrl: base,
    readTimeoutMs: 2000,
    hooks: { onGatewayCall: (event: WechatPayGatewayCallEvent) => calls.push(event) },
  };
  const config = resolveWechatPayConfig(options);
  transport = new WechatPayTransport(config);
  hooks = new WechatPayHookRunner(options);
  login = new WechatLoginService(config, transport, hooks);
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

describe('WechatLoginService.code2Session', () => {
  function everythingVisibleOf(error: WechatPayError): string {
    return [
      error.message,
      error.rawBody ?? '',
      JSON.stringify(error),
      inspect(error),
      String(error.stack),
    ].join('\n');
  }

  it('exchanges the code for openid and session key, whatever the content type', async () => {
    respond = () => ({
      contentType: 'text/plain',
      body: JSON.stringify({
        session_key: SESSION_KEY,
        openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
        unionid: 'oU1',
      }),
    });

    const result = await login.code2Session('081aBcDe0xYz1z1Qw8Ge0AbCdE3aBcDq');

    expect(received).toHaveLength(1);
    expect(received[0].method).toBe('GET');
    expect(received[0].path).toBe('/sns/jscode2session');
    expect(Object.fromEntries(received[0].query)).toEqual({
      appid: APP_ID,
      secret: APP_SECRET,
      js_code: '081aBcDe0xYz1z1Qw8Ge0AbCdE3aBcDq',
      grant_type: 'authorization_code',
    });
    expect(result.openid).toBe('oUpF8uMuAJO_M2pxb1Q9zNjWeS6o');
    expect(result.unionid).toBe('oU1');
    expect(result.sessionKey).toBe(SESSION_KEY);
  });

  it('keeps the session key out of JSON, spreading and util.inspect', async () => {
    respond = () => ({
      body: JSON.stringify({ session_key: SESSION_KEY, openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' }),
    });

    const result = await login.code2Session('code-1');

    expect(JSON.stringify(result)).toBe('{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}');
    expect(JSON.stringify({ ...result })).not.toContain(SESSION_KEY);
    expect(inspect(result)).not.toContain(SESSION_KEY);
    expect(inspect(result, { showHidden: true, depth: 5 })).not.toContain(SESSION_KEY);
    expect(inspect(result)).toContain('oUpF8uMuAJO_M2pxb1Q9zNjWeS6o');
  });

  it('URL-encodes the code', async () => {
    respond = () => ({ body: JSON.stringify({ session_key: SESSION_KEY, openid: 'o1' }) });

    await login.code2Session('a&b=c+d/é');

    expect(received[0].query.get('js_code')).toBe('a&b=c+d/é');
    expect(received[0].query.get('grant_type')).toBe('authorization_code');
  });

  it.each([
    [40029, 'invalid code, rid: 6650a1b2-1c2d3e4f'],
    [40163, 'code been used, rid: 6650a1b2-5a6b7c8d'],
  ])('reports errcode %i as a login error, once and not retryable', async (errcode, errmsg) => {
    respond = () => ({ body: JSON.stringify({ errcode, errmsg }) });

    const error = await failure(login.code2Session('used-code'));

    expect(error).toBeInstanceOf(WechatPayLoginError);
    expect((error as WechatPayLoginError).errcode).toBe(errcode);
    expect((error as WechatPayLoginError).errmsg).toBe(errmsg);
    expect(error.retryable).toBe(false);
    expect(received).toHaveLength(1);
  });

  it('reports a non-JSON answer as a protocol error', async () => {
    respond = () => ({ contentType: 'text/html', body: '<html>gateway timeout</html>' });

    const error = await failure(login.code2Session('code-1'));

    expect(error).toBeInstanceOf(WechatPayProtocolError);
    expect(error.rawBody).toBe('<html>gateway timeout</html>');
  });

  it('reports an answer without openid as a protocol error whose body hides the session key', async () => {
    respond = () => ({ body: JSON.stringify({ session_key: SESSION_KEY }) });

    const error = await failure(login.code2Session('code-1'));

    expect(error).toBeInstanceOf(WechatPayProtocolError);
    expect(error.rawBody).toContain('session_key');
    expect(everythingVisibleOf(error)).not.toContain(SESSION_KEY);
    expect(everythingVisibleOf(error)).not.toContain(APP_SECRET);
  });

  it('hides the session key of a truncated answer', async () => {
    respond = () => ({ body: `{"openid":"o1","session_key":"${SESSION_KEY}` });

    const error = await failure(login.code2Session('code-1'));

    expect(error).toBeInstanceOf(WechatPayProtocolError);
    expect(everythingVisibleOf(error)).not.toContain(SESSION_KEY);
  });

  it('reports an answer without session_key as a protocol error', async () => {
    respond = () => ({ body: JSON.stringify({ openid: 'o1' }) });

    expect(await failure(login.code2Session('code-1'))).toBeInstanceOf(WechatPayProtocolError);
  });

  it('reports HTTP 502 as a transport error not to retry, with the secret nowhere in it', async () => {
    respond = () => ({ status: 502, body: 'bad gateway' });

    const error = await failure(login.code2Session('code-1'));

    expect((error as WechatPayTransportError).failure).toBe('HTTP_STATUS');
    expect(error.retryable).toBe(false);
    expect(everythingVisibleOf(error)).not.toContain(APP_SECRET);
    expect(received).toHaveLength(1);
  });

  it('refuses to call without an app secret with a config error naming the option, not any value', async () => {
    const noSecret = resolveWechatPayConfig({
      appId: APP_ID,
      mchId: MCH_ID,
      apiKey: KEY,
      apiBaseUrl: base,
    });
    const bare = new WechatLoginService(noSecret, transport, hooks);

    const error = await failure(bare.code2Session('code-1'));

    expect(error).toBeInstanceOf(WechatPayConfigError);
    expect((error as WechatPayConfigError).fields.map((f) => f.field)).toEqual(['appSecret']);
    expect(error.message).not.toContain(KEY);
    expect(received).toHaveLength(0);
  });

  it('sends nothing for an empty code', async () => {
    const error = await failure(login.code2Session(''));

    expect((error as WechatPayRequestError).field).toBe('jsCode');
    expect(received).toHaveLength(0);
  });

  it('reports each call to the onGatewayCall hook as /sns/jscode2session with its result', async () => {
    respond = () => ({ body: JSON.stringify({ session_key: SESSION_KEY, openid: 'o1' }) });
    await login.code2Session('code-1');
    respond = () => ({ body: JSON.stringify({ errcode: 40163, errmsg: 'code been used' }) });
    await failure(login.code2Session('code-2'));
    respond = () => ({ status: 502, body: 'bad gateway' });
    await failure(login.code2Session('code-3'));

    expect(calls.map(({ endpoint, result }) => [endpoint, result])).toEqual([
      ['/sns/jscode2session', 'SUCCESS'],
      ['/sns/jscode2session', 'LOGIN'],
      ['/sns/jscode2session', 'TRANSPORT'],
    ]);
    for (const call of calls) expect(call.durationMs).toBeGreaterThanOrEqual(0);
  });
});
