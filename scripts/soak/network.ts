import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';
import {
  createServer as createTcpServer,
  connect,
  type Server as TcpServer,
  type Socket,
} from 'node:net';
import { BALANCER_HEADER, UPSTREAM_HEADER } from './http';

/**
 * The soak's network between the shop and WeChat, and in front of the shop.
 *
 * - `Link`: a TCP proxy the soak can partition. `open` forwards bytes; `hang` accepts connections
 *   and forwards nothing, in either direction, on new and existing connections alike, so callers
 *   wait for their read timeout; `refuse` closes every connection and stops listening, so connects
 *   are refused.
 * - `Balancer`: an HTTP round-robin load balancer over the demo instances, like a reverse proxy in
 *   production. A connect that is refused (an instance down or restarting) is tried on the next
 *   instance, since nothing was sent; an instance failing mid-request answers 502 marked with
 *   BALANCER_HEADER, since the request may have taken effect. It does not read /health: the
 *   prober measures that separately.
 */
export type LinkMode = 'open' | 'hang' | 'refuse';

interface Pair {
  client: Socket;
  upstream?: Socket;
}

export class Link {
  private mode: LinkMode = 'open';
  private readonly pairs = new Set<Pair>();
  private server: TcpServer;
  connections = 0;
  heldConnections = 0;

  constructor(
    readonly port: number,
    private readonly targetPort: number,
  ) {
    this.server = this.createServer();
  }

  private createServer(): TcpServer {
    return createTcpServer((client) => this.accept(client));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  private accept(client: Socket): void {
    this.connections++;
    const pair: Pair = { client };
    this.pairs.add(pair);
    const drop = () => {
      client.destroy();
      pair.upstream?.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', drop);
    client.on('close', drop);
    if (this.mode === 'hang') {
      this.heldConnections++;
      client.on('data', () => undefined);
      return;
    }
    const upstream = connect(this.targetPort, '127.0.0.1');
    pair.upstream = upstream;
    upstream.on('error', drop);
    upstream.on('close', drop);
    this.forward(client, upstream);
    this.forward(upstream, client);
  }

  private forward(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (this.mode !== 'open') return;
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('end', () => to.end());
  }

  async setMode(mode: LinkMode): Promise<void> {
    if (mode === this.mode) return;
    const previous = this.mode;
    this.mode = mode;
    if (mode === 'refuse') {
      // close() only stops new connections; its callback waits for the open ones, ended next.
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const pair of this.pairs) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      this.pairs.clear();
      await closed;
      return;
    }
    if (previous === 'hang') {
      // Connections held or frozen during the hang would deliver stale bytes if they resumed.
      for (const pair of this.pairs) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      this.pairs.clear();
    }
    if (previous === 'refuse') {
      this.server = this.createServer();
      await this.listen();
    }
  }

  close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream?.destroy();
    }
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }
}

export interface Upstream {
  name: string;
  port: number;
}

const MAX_BODY_BYTES = 1024 * 1024;
const DOWN_FOR_MS = 1000;

export class Balancer {
  private readonly server: Server;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 128 });
  private readonly downUntil = new Map<string, number>();
  private next = 0;
  readonly answeredByBalancer = new Map<string, number>();
  readonly retriedConnects = new Map<string, number>();

  constructor(
    readonly port: number,
    private readonly upstreams: Upstream[],
  ) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      });
      req.on('end', () => {
        if (size > MAX_BODY_BYTES) {
          res.writeHead(413, { [BALANCER_HEADER]: 'body too large' }).end();
          return;
        }
        this.forward(req, Buffer.concat(chunks), this.upstreams.length, (status, headers, body) => {
          res.writeHead(status, headers);
          if (body) body.pipe(res);
          else res.end();
        });
      });
    });
    this.server.keepAliveTimeout = 30_000;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  private pick(): Upstream {
    const now = Date.now();
    for (let i = 0; i < this.upstreams.length; i++) {
      const candidate = this.upstreams[(this.next + i) % this.upstreams.length];
      if ((this.downUntil.get(candidate.name) ?? 0) <= now) {
        this.next = (this.next + i + 1) % this.upstreams.length;
        return candidate;
      }
    }
    const fallback = this.upstreams[this.next];
    this.next = (this.next + 1) % this.upstreams.length;
    return fallback;
  }

  private forward(
    req: IncomingMessage,
    body: Buffer,
    attemptsLeft: number,
    reply: (
      status: number,
      headers: Record<string, string | string[]>,
      body?: IncomingMessage,
    ) => void,
  ): void {
    const upstream = this.pick();
    let replied = false;
    const once: typeof reply = (...args) => {
      if (replied) return;
      replied = true;
      reply(...args);
    };
    const headers = { ...req.headers, host: `127.0.0.1:${upstream.port}` };
    delete headers.connection;
    headers['content-length'] = String(body.length);
    const outgoing = request({
      host: '127.0.0.1',
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers,
      agent: this.agent,
    });
    outgoing.on('response', (res) => {
      const out: Record<string, string | string[]> = { [UPSTREAM_HEADER]: upstream.name };
      for (const [name, value] of Object.entries(res.headers)) {
        if (value !== undefined && name !== 'connection' && name !== 'keep-alive')
          out[name] = value;
      }
      res.on('error', () => undefined);
      once(res.statusCode ?? 502, out, res);
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      const neverSent = error.code === 'ECONNREFUSED';
      // A reused keep-alive socket the instance closed (or died on) before reading the request:
      // safe to repeat only for reads.
      const idempotentRetry =
        outgoing.reusedSocket && error.code === 'ECONNRESET' && req.method === 'GET';
      if (replied) return;
      if ((neverSent || idempotentRetry) && attemptsLeft > 1) {
        this.downUntil.set(upstream.name, Date.now() + DOWN_FOR_MS);
        this.retriedConnects.set(upstream.name, (this.retriedConnects.get(upstream.name) ?? 0) + 1);
        this.forward(req, body, attemptsLeft - 1, reply);
        return;
      }
      const reason = error.code ?? 'upstream failed';
      this.answeredByBalancer.set(reason, (this.answeredByBalancer.get(reason) ?? 0) + 1);
      once(502, {
        [BALANCER_HEADER]: reason,
        [UPSTREAM_HEADER]: upstream.name,
        'content-type': 'text/plain',
      });
    });
    outgoing.end(body);
  }

  close(): Promise<void> {
    this.agent.destroy();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
