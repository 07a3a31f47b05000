import * as http from 'node:http';
import { Socket, type AddressInfo } from 'node:net';
import { resolveWechatPayConfig } from '../config/wechat-pay.options';
import { WechatPayTransportError } from '../errors/errors';
import { WechatPayTransport } from './transport';

const MAX_BODY = 1024;

function config(overrides: Record<string, unknown> = {}) {
  return resolveWechatPayConfig({
    appId: 'wxd930ea5d5a258f4f',
    mchId: '10000100',
    apiKey: '192006250b4c09247ec02edce69f6a2d',
    connectTimeoutMs: 2000,
    readTimeoutMs: 10_000,
    maxBodyBytes: MAX_BODY,
    ...overrides,
  });
}

/** Resolves with the error the promise rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<WechatPayTransportError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof WechatPayTransportError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('WechatPayTransport', () => {
  let server: http.Server;
  let base: string;
  let connections = 0;
  let closedConnections = 0;
  const received: Received[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        if (path === '/hang') return;
        if (path === '/big') {
          res.writeHead(200, { 'Content-Length': MAX_BODY + 1 });
          res.end('x'.repeat(MAX_BODY + 1));
          return;
        }
        if (path === '/big-chunked') {
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.write('x'.repeat(MAX_BODY));
          res.end('x'.repeat(MAX_BODY));
          return;
        }
        if (path === '/error') {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end('oops');
          return;
        }
        res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' });
        res.end(`<xml><echo><![CDATA[${Buffer.concat(chunks).toString('utf8')}]]></echo></xml>`);
      });
    });
    server.on('connection', (socket) => {
      connections += 1;
      socket.on('close', () => {
        closedConnections += 1;
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    connections = 0;
    closedConnections = 0;
    received.length = 0;
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('posts UTF-8 XML with its content type and length and returns status and body', async () => {
    const transport = new WechatPayTransport(config());
    try {
      const body = '<xml><body>腾讯充值</body></xml>';
      const response = await transport.postXml(`${base}/pay/unifiedorder`, body);
      expect(response.status).toBe(200);
      expect(response.body.toString('utf8')).toContain('腾讯充值');
      expect(received).toHaveLength(1);
      expect(received[0].method).toBe('POST');
      expect(received[0].headers['content-type']).toBe('text/xml; charset=utf-8');
      expect(received[0].headers['content-length']).toBe(String(Buffer.byteLength(body, 'utf8')));
      expect(received[0].body).toBe(body);
    } finally {
      transport.onModuleDestroy();
    }
  });

  it('reuses one keep-alive connection for consecutive calls', async () => {
    const transport = new WechatPayTransport(config());
    try {
      await transport.postXml(`${base}/pay/orderquery`, '<xml/>');
      await transport.get(`${base}/sns/jscode2session?js_code=a`);
      await transport.postXml(`${base}/pay/closeorder`, '<xml/>');
      expect(received.map((r) => r.method)).toEqual(['POST', 'GET', 'POST']);
      expect(connections).toBe(1);
    } finally {
      transport.onModuleDestroy();
    }
  });

  it('closes its pooled connections when the module is destroyed', async () => {
    const transport = new WechatPayTransport(config());
    await transport.postXml(`${base}/pay/orderquery`, '<xml/>');
    expect(connections).toBe(1);
    transport.onModuleDestroy();
    await waitFor(() => closedConnections === 1);
    expect(closedConnections).toBe(1);
  });

  it('hands back non-200 answers without interpreting them', async () => {
    const transport = new WechatPayTransport(config());
    try {
      const response = await transport.postXml(`${base}/error`, '<xml/>');
      expect(response.status).toBe(500);
      expect(response.body.toString()).toBe('oops');
    } finally {
      transport.onModuleDestroy();
    }
  });

  it('fails with a retryable READ_TIMEOUT when the server never answers', async () => {
    const transport = new WechatPayTransport(config());
    try {
      const error = await rejection(
        transport.postXml(`${base}/hang`, '<xml/>', { readTimeoutMs: 200 }),
      );
      expect(error.failure).toBe('READ_TIMEOUT');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain(`127.0.0.1:${new URL(base).port}/hang`);
    } finally {
      transport.onModuleDestroy();
    }
  });

  it('uses the configured read timeout when the call gives none', async () => {
    const transport = new WechatPayTransport(config({ readTimeoutMs: 150 }));
    try {
      const error = await rejection(transport.get(`${base}/hang`));
      expect(error.failure).toBe('READ_TIMEOUT');
    } finally {
      transport.onModuleDestroy();
    }
  });

  it('fails with a retryable CONNECT_TIMEOUT when the connection never completes', async () => {
    // A socket that stays "connecting" forever, so no packet leaves the process.
    const createConnection = jest
      .spyOn(http.Agent.prototype, 'createConnection')
      .mockImplementation(() => {
        const socket = new Socket();
        (socket as { connecting: boolean }).connecting = true;
        return socket;
      });
    const transport = new WechatPayTransport(config({ connectTimeoutMs: 100 }));
    try {
      const error = await rejection(
        transport.postXml(`${base}/pay/unifiedorder`, '<xml/>', { readTimeoutMs: 10_000 }),
      );
      expect(createConnection).toHaveBeenCalledTimes(1);
      expect(error.failure).toBe('CONNECT_TIMEOUT');
      expect(error.retryable).toBe(true);
      expect(received).toHaveLength(0);
    } finally {
      transport.onModuleDestroy();
    }
  });

  it('fails with a retryable NETWORK error when the connection is refused', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const transport = new WechatPayTransport(config());
    try {
      const error = await rejection(transport.get(`http://127.0.0.1:${port}/sns/jscode2session`));
      expect(error.failure).toBe('NETWORK');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('ECONNREFUSED');
    } finally {
      transport.onModuleDestroy();
    }
  });

  it('aborts a response that declares more than maxBodyBytes, not retryable', async () => {
    const transport = new WechatPayTransport(config());
    try {
      const error = await rejection(transport.postXml(`${base}/big`, '<xml/>'));
      expect(error.failure).toBe('TOO_LARGE');
      expect(error.retryable).toBe(false);
    } finally {
      transport.onModuleDestroy();
    }
  });

  it('aborts a chunked response once it grows past maxBodyBytes', async () => {
    const transport = new WechatPayTransport(config());
    try {
      const error = await rejection(transport.get(`${base}/big-chunked`));
      expect(error.failure).toBe('TOO_LARGE');
    } finally {
      transport.onModuleDestroy();
    }
  });

  it('keeps the query string, which carries the app secret, out of every error message', async () => {
    const transport = new WechatPayTransport(config());
    const query = '?appid=wx1&secret=TOP-SECRET-VALUE&js_code=CODE123';
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    try {
      const errors = [
        await rejection(transport.get(`${base}/hang${query}`, { readTimeoutMs: 100 })),
        await rejection(transport.get(`${base}/big${query}`)),
        await rejection(transport.get(`http://127.0.0.1:${port}/sns/jscode2session${query}`)),
        await rejection(transport.get(`not a url${query}`)),
      ];
      expect(errors.map((e) => e.failure)).toEqual([
        'READ_TIMEOUT',
        'TOO_LARGE',
        'NETWORK',
        'NETWORK',
      ]);
      for (const error of errors) {
        expect(error.message).not.toContain('TOP-SECRET-VALUE');
        expect(error.message).not.toContain('CODE123');
        expect(error.message).not.toContain('?');
      }
      expect(errors[0].message).toContain('/hang');
    } finally {
      transport.onModuleDestroy();
    }
  });
});

/** Polls a condition every 10 ms for at most 2 s. */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
