import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export type LinkMode = 'open' | 'refuse' | 'hang';

/**
 * A TCP link between the shop and the simulator that a test can cut: `refuse` closes the
 * listening port (connections are refused, as when WeChat's host is unreachable), `hang` accepts
 * connections and never answers (as during a partition, until the read timeout). Switching mode
 * drops the connections already open, so kept-alive sockets do not bypass it.
 */
export class WechatLink {
  private mode: LinkMode = 'open';
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly targetPort: number,
    private port: number,
  ) {}

  static async start(targetUrl: string): Promise<WechatLink> {
    const link = new WechatLink(Number(new URL(targetUrl).port), 0);
    await link.listen();
    return link;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async set(mode: LinkMode): Promise<void> {
    if (mode === this.mode) return;
    this.mode = mode;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (mode === 'refuse') await this.unlisten();
    else if (!this.server) await this.listen();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await this.unlisten();
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  private listen(): Promise<void> {
    const server = createServer((client) => {
      this.track(client);
      if (this.mode === 'hang') {
        client.resume();
        return;
      }
      const upstream = connect(this.targetPort, '127.0.0.1');
      this.track(upstream);
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        this.port = (server.address() as AddressInfo).port;
        this.server = server;
        resolve();
      });
    });
  }

  private unlisten(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
