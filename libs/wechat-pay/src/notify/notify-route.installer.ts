import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WechatPayConfig } from '../config/wechat-pay.options';
import { WechatPayConfigError } from '../errors/errors';
import { WechatPayHookRunner } from '../hooks/hooks';
import { readNotifyBody } from './notify-body';
import { rejectionReply } from './notify-reply';
import {
  FASTIFY_NOTIFY_ROUTE_FLAG,
  hasNotifyStash,
  hideBodyHeaders,
  NOTIFY_ROUTE,
} from './notify-route';
import type { NotificationKind, NotifyRejectReason } from './notify.types';

type Next = (error?: unknown) => void;
type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void;
type ErrorMiddleware = (
  error: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  next: Next,
) => void;

/** The parts of an Express 5 application this setup uses. */
interface ExpressApp {
  router?: ExpressRouter;
  _router?: ExpressRouter;
  use(handler: Middleware | ErrorMiddleware): unknown;
  enabled(setting: string): boolean;
}
interface ExpressRouter {
  stack: ExpressLayer[];
}
interface ExpressLayer {
  route?: { path: unknown; methods?: Record<string, boolean>; stack: Array<{ handle: unknown }> };
}

/** The parts of a Fastify instance and request this setup uses. */
interface FastifyInstance {
  addHook(name: 'onRequest', hook: (request: FastifyRequest) => Promise<void>): unknown;
}
interface FastifyRequest {
  raw: IncomingMessage;
  routeOptions?: { config?: Record<string, unknown> };
}

const SETUP_HINT =
  'set notifyController: false in WechatPayModule and serve notifications from your own route, ' +
  'passing the raw request body to WechatPayNotifyService.handle()';

/**
 * Makes the notify route independent of the host's body parsers, on each supported adapter:
 * - Express: a first middleware hides the body headers of requests for the notify route, so
 *   every parser the host installed (Nest's JSON and urlencoded ones, `useBodyParser`, its own)
 *   skips them; the route puts the headers back and reads the stream itself. Errors a parser
 *   that ignores the content type may still raise for the route are answered with the v2 reply.
 * - Fastify: an onRequest hook reads the body of the notify route (found by its route config)
 *   before Fastify picks a content-type parser, then lets the request through as bodyless, so
 *   neither a 415 for `text/xml` nor a JSON 400/413 can happen.
 * Another adapter fails start-up with a message saying what to do instead.
 */
@Injectable()
export class NotifyRouteInstaller implements OnModuleInit {
  private readonly logger = new Logger('WechatPayNotify');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: WechatPayConfig,
    private readonly hooks: WechatPayHookRunner,
  ) {}

  onModuleInit(): void {
    // A standalone application context has no HTTP server (its adapter is null): no route to serve.
    const adapter = this.adapterHost?.httpAdapter;
    if (!adapter) return;
    const type = adapter.getType();
    if (type === 'express') this.installExpress(adapter.getInstance<ExpressApp>());
    else if (type === 'fastify') this.installFastify(adapter.getInstance<FastifyInstance>());
    else {
      throw new WechatPayConfigError([
        {
          field: 'notifyController',
          problems: [
            `the notify route supports @nestjs/platform-express and @nestjs/platform-fastify, not "${type}": ${SETUP_HINT}`,
          ],
        },
      ]);
    }
  }

  private installExpress(app: ExpressApp): void {
    const router = app.router ?? app._router;
    if (router === undefined || !Array.isArray(router.stack)) {
      throw new WechatPayConfigError([
        {
          field: 'notifyController',
          problems: [
            `this Express version exposes no router stack to set the notify route up: ${SETUP_HINT}`,
          ],
        },
      ]);
    }
    const notifyKind = this.expressPathMatcher(app, router.stack);

    const hideBody: Middleware = (req, _res, next) => {
      if (req.method === 'POST' && !hasNotifyStash(req) && notifyKind(req.url) !== undefined) {
        hideBodyHeaders(req, false);
      }
      next();
    };
    app.use(hideBody);
    // app.use appends: move the layer to the front, ahead of every parser registered so far.
    router.stack.unshift(router.stack.pop() as ExpressLayer);

    const answerParserErrors: ErrorMiddleware = (error, req, res, next) => {
      const failure = bodyParserFailure(error);
      const kind = req.method === 'POST' ? notifyKind(req.url) : undefined;
      if (failure === undefined || kind === undefined) {
        next(error);
        return;
      }
      this.logger.warn(
        `refused ${kind === 'payment' ? 'a notification' : 'a refund notification'}: ${failure} (a body parser failed before the route)`,
      );
      this.hooks.notification({ kind, outcome: failure });
      if (res.headersSent) return;
      res.statusCode = 200;
      res.setHeader('Content-Type', 'text/xml; charset=utf-8');
      res.end(rejectionReply(failure));
    };
    // Appended after the routes and before Nest's own error handler, which init adds later.
    app.use(answerParserErrors);
  }

  /**
   * Compares request paths with the notify routes' paths as Express itself would match them, and
   * says which route (payment or refund) a path is.
   */
  private expressPathMatcher(
    app: ExpressApp,
    stack: ExpressLayer[],
  ): (url: string | undefined) => NotificationKind | undefined {
    const routes: Array<[string, NotificationKind]> = [];
    for (const layer of stack) {
      const path = layer.route?.path;
      const kind = layer.route?.stack.map((entry) => notifyKindOf(entry.handle)).find(Boolean);
      if (typeof path === 'string' && kind !== undefined) routes.push([path, kind]);
    }
    if (routes.length === 0) {
      throw new WechatPayConfigError([
        {
          field: 'notifyController',
          problems: [`the notify route was not found among the Express routes: ${SETUP_HINT}`],
        },
      ]);
    }
    const caseSensitive = app.enabled('case sensitive routing');
    const strict = app.enabled('strict routing');
    const normalise = (path: string): string => {
      const cased = caseSensitive ? path : path.toLowerCase();
      return strict ? cased : cased.replace(/\/+$/, '');
    };
    const wanted = new Map(routes.map(([path, kind]) => [normalise(path), kind]));
    return (url) => {
      if (url === undefined) return undefined;
      const query = url.indexOf('?');
      return wanted.get(normalise(query === -1 ? url : url.slice(0, query)));
    };
  }

  private installFastify(fastify: FastifyInstance): void {
    const maxBytes = this.config.maxBodyBytes;
    fastify.addHook('onRequest', async (request) => {
      const kind = request.routeOptions?.config?.[FASTIFY_NOTIFY_ROUTE_FLAG];
      if (kind !== 'payment' && kind !== 'refund') return;
      const raw = request.raw;
      if (hasNotifyStash(raw)) return;
      let read: { body: Awaited<ReturnType<typeof readNotifyBody>> } | { error: unknown };
      try {
        read = { body: await readNotifyBody(raw, maxBytes) };
      } catch (error) {
        read = { error };
      }
      hideBodyHeaders(raw, true).read = read;
    });
  }
}

function notifyKindOf(handle: unknown): NotificationKind | undefined {
  if (typeof handle !== 'function') return undefined;
  const kind: unknown = Reflect.getMetadata(NOTIFY_ROUTE, handle as object);
  return kind === 'payment' || kind === 'refund' ? kind : undefined;
}

/** body-parser (raw-body) errors carry a `type`; which refusal each one is. */
function bodyParserFailure(error: unknown): NotifyRejectReason | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  if (typeof type !== 'string') return undefined;
  if (type === 'entity.too.large') return 'BODY_TOO_LARGE';
  if (type === 'request.aborted') return 'INCOMPLETE_BODY';
  return /^(entity|charset|encoding|request|stream)\./.test(type) ? 'UNSUPPORTED_BODY' : undefined;
}
