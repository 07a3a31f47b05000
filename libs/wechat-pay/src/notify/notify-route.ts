import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { NotifyBody } from './notify-body';

/**
 * Marks the notify routes' handlers (the value is the kind, payment or refund), so the adapter
 * setup can find them however they were mounted.
 */
export const NOTIFY_ROUTE = Symbol('wechat-pay:notify-route');

/**
 * @nestjs/platform-fastify copies this metadata of a handler into the Fastify route's `config`
 * (its `@RouteConfig()` decorator writes the same key); a spec checks the key against the
 * package's constant. The library never imports the adapter, so Express hosts need not have it.
 */
export const FASTIFY_ROUTE_CONFIG_METADATA = '__fastify_route_config__';
export const FASTIFY_NOTIFY_ROUTE_FLAG = 'wechatPayNotifyRoute';

/** Headers that would make a host's body parser read the body, kept aside while parsers run. */
const BODY_HEADERS = ['content-type', 'content-length', 'transfer-encoding'] as const;

const STASH = Symbol('wechat-pay:notify-stash');

/** What the adapter setup left on a notify request for the route's handler. */
export interface NotifyStash {
  headers: Partial<Pick<IncomingHttpHeaders, (typeof BODY_HEADERS)[number]>>;
  /** Fastify: the body, read before Fastify's content-type parsing (or the error reading it). */
  read?: { body: NotifyBody } | { error: unknown };
}

type Stashed = IncomingMessage & { [STASH]?: NotifyStash };

/**
 * Hides the body headers so that no body parser (Express middleware or a Fastify content-type
 * parser) touches the request, and remembers them for the handler. With `asEmpty`, the request
 * also looks bodyless (Fastify then skips parsing altogether, once the body has been read).
 */
export function hideBodyHeaders(req: IncomingMessage, asEmpty: boolean): NotifyStash {
  const headers: NotifyStash['headers'] = {};
  for (const name of BODY_HEADERS) {
    if (req.headers[name] !== undefined) headers[name] = req.headers[name];
  }
  delete req.headers['content-type'];
  if (asEmpty) {
    delete req.headers['transfer-encoding'];
    req.headers['content-length'] = '0';
  }
  const stash: NotifyStash = { headers };
  (req as Stashed)[STASH] = stash;
  return stash;
}

/** Whether the adapter setup already took this request in hand (a second module instance may look too). */
export function hasNotifyStash(req: IncomingMessage): boolean {
  return (req as Stashed)[STASH] !== undefined;
}

/** Puts the original body headers back and returns what the adapter setup left, if it ran. */
export function takeNotifyStash(req: IncomingMessage): NotifyStash | undefined {
  const stashed = req as Stashed;
  const stash = stashed[STASH];
  if (stash === undefined) return undefined;
  delete stashed[STASH];
  for (const name of BODY_HEADERS) {
    const value = stash.headers[name];
    if (value === undefined) delete req.headers[name];
    else (req.headers as Record<string, unknown>)[name] = value;
  }
  return stash;
}
