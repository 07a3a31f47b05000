/**
 * The soak's network in a process of its own, so the load balancer and the partitionable links
 * keep their timing however busy the virtual users keep the soak's main process. Started by
 * NetworkControl with its layout as JSON in argv; takes commands over the IPC channel.
 */
import { Balancer, Link, type LinkMode, type Upstream } from './network';

export interface NetworkLayout {
  balancer: { port: number; upstreams: Upstream[] };
  links: { name: string; port: number; targetPort: number }[];
}

export type NetworkCommandBody = { cmd: 'mode'; mode: LinkMode } | { cmd: 'stats' };
export type NetworkCommand = { id: number } & NetworkCommandBody;

export interface NetworkStats {
  answeredByBalancer: Record<string, number>;
  retriedConnects: Record<string, number>;
  links: Record<string, { connections: number; heldConnections: number }>;
}

export type NetworkReply =
  { id: number; ok: true; stats?: NetworkStats } | { id: number; ok: false; error: string };

async function main(): Promise<void> {
  const layout = JSON.parse(process.argv[2] ?? '') as NetworkLayout;
  const balancer = new Balancer(layout.balancer.port, layout.balancer.upstreams);
  const links = new Map(layout.links.map((l) => [l.name, new Link(l.port, l.targetPort)]));
  await balancer.listen();
  for (const link of links.values()) await link.listen();

  const send = (reply: NetworkReply | 'ready') => process.send?.(reply);
  process.on('message', (message: NetworkCommand) => {
    const run = async (): Promise<NetworkReply> => {
      if (message.cmd === 'mode') {
        await Promise.all([...links.values()].map((link) => link.setMode(message.mode)));
        return { id: message.id, ok: true };
      }
      return {
        id: message.id,
        ok: true,
        stats: {
          answeredByBalancer: Object.fromEntries(balancer.answeredByBalancer),
          retriedConnects: Object.fromEntries(balancer.retriedConnects),
          links: Object.fromEntries(
            [...links].map(([name, link]) => [
              name,
              { connections: link.connections, heldConnections: link.heldConnections },
            ]),
          ),
        },
      };
    };
    run().then(send, (error: unknown) =>
      send({
        id: message.id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      }),
    );
  });
  process.on('disconnect', () => {
    void Promise.all([balancer.close(), ...[...links.values()].map((l) => l.close())]).then(() =>
      process.exit(0),
    );
  });
  send('ready');
}

main().catch((error: unknown) => {
  console.error(`soak network failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
