import { createServer, type Server } from 'node:http';
import { request } from 'node:http';
import { call } from './http';
import { Balancer, Link } from './network';
import { freePort } from './processes';

function echoServer(name: string): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name, path: req.url }));
    });
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

/** A request on a fresh connection, so the link's mode applies to it from the start. */
function once(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/x', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode)));
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      resolve('timeout');
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    req.end();
  });
}

describe('the soak network', () => {
  const servers: Server[] = [];
  afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

  it('forwards through an open link, hangs in hang mode, refuses in refuse mode, and reopens', async () => {
    const target = await echoServer('target');
    servers.push(target.server);
    const link = new Link(await freePort(), target.port);
    await link.listen();
    try {
      expect(await once(link.port, 2000)).toBe('200');
      await link.setMode('hang');
      expect(await once(link.port, 300)).toBe('timeout');
      await link.setMode('refuse');
      expect(await once(link.port, 2000)).toBe('ECONNREFUSED');
      await link.setMode('open');
      expect(await once(link.port, 2000)).toBe('200');
    } finally {
      await link.close();
    }
  });

  it('freezes a kept-alive connection that was open when the hang began', async () => {
    const target = await echoServer('target');
    servers.push(target.server);
    const link = new Link(await freePort(), target.port);
    await link.listen();
    try {
      const first = await call(`http://127.0.0.1:${link.port}/a`);
      expect(first.status).toBe(200);
      await link.setMode('hang');
      const second = await call(`http://127.0.0.1:${link.port}/b`, { timeoutMs: 300 });
      expect(second.error).toBe('timeout');
    } finally {
      await link.close();
    }
  });

  it('balances round-robin, names the instance, and skips one that refuses connections', async () => {
    const a = await echoServer('a');
    const b = await echoServer('b');
    servers.push(a.server, b.server);
    const deadPort = await freePort();
    const balancer = new Balancer(await freePort(), [
      { name: 'i1', port: a.port },
      { name: 'i2', port: deadPort },
      { name: 'i3', port: b.port },
    ]);
    await balancer.listen();
    try {
      const answers = [];
      for (let i = 0; i < 4; i++)
        answers.push(await call<{ name: string }>(`http://127.0.0.1:${balancer.port}/p`));
      expect(answers.map((x) => x.status)).toEqual([200, 200, 200, 200]);
      expect(new Set(answers.map((x) => x.body?.name))).toEqual(new Set(['a', 'b']));
      expect(answers.every((x) => x.upstream === 'i1' || x.upstream === 'i3')).toBe(true);
      expect(balancer.retriedConnects.get('i2')).toBeGreaterThan(0);
    } finally {
      await balancer.close();
    }
  });
});
