import type { IncomingMessage } from 'node:http';
import {
  Controller,
  HttpCode,
  Inject,
  Logger,
  Post,
  Req,
  Res,
  SetMetadata,
  type Type,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WechatPayConfig } from '../config/wechat-pay.options';
import { WechatPayNotifyError } from '../errors/errors';
import { WechatPayHookRunner } from '../hooks/hooks';
import { readNotifyBody, type NotifyBody, type NotifyRequest } from './notify-body';
import { rejectionReply } from './notify-reply';
import {
  FASTIFY_NOTIFY_ROUTE_FLAG,
  FASTIFY_ROUTE_CONFIG_METADATA,
  NOTIFY_ROUTE,
  takeNotifyStash,
} from './notify-route';
import { describeError } from './notify.logging';
import { WechatPayNotifyService } from './notify.service';
import type { NotificationKind, NotifyRejectReason } from './notify.types';

/** Express hands the Node request itself; Fastify wraps it (`raw`). */
function nodeRequest(req: unknown): NotifyRequest {
  const wrapped = (req as { raw?: unknown }).raw;
  return (wrapped ?? req) as NotifyRequest;
}

/**
 * Builds the controller that receives payment (or, with `kind: 'refund'`, refund) notifications
 * at `path`. A fresh class per call, so each module instance can mount its own paths.
 *
 * It reads the body itself, on Express and on Fastify alike: the module's adapter setup
 * (NotifyRouteInstaller) keeps the host's body parsers away from this route, so hosts need no XML
 * parser, no `rawBody` option and no other setup. It always answers HTTP 200 with the v2 XML reply,
 * even when something unexpected throws: WeChat reads only the reply body, and a non-200 would
 * just be another failure it retries. Host guards and middleware still run before it.
 */
export function createNotifyController(
  path: string,
  kind: NotificationKind = 'payment',
): Type<unknown> {
  const noun = kind === 'payment' ? 'a notification' : 'a refund notification';
  @Controller(path)
  class WechatPayNotifyController {
    private readonly logger = new Logger('WechatPayNotify');

    constructor(
      @Inject(WechatPayNotifyService) private readonly notify: WechatPayNotifyService,
      @Inject(WechatPayConfig) private readonly config: WechatPayConfig,
      @Inject(WechatPayHookRunner) private readonly hooks: WechatPayHookRunner,
      @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    ) {}

    @Post()
    // Declared as well as sent, so route metadata (OpenAPI documents, say) shows the real status.
    @HttpCode(200)
    @SetMetadata(NOTIFY_ROUTE, kind)
    @SetMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { [FASTIFY_NOTIFY_ROUTE_FLAG]: kind })
    async receive(@Req() req: unknown, @Res() res: unknown): Promise<void> {
      let reply: string;
      try {
        const read = await this.body(nodeRequest(req));
        if (read.ok) {
          const result =
            kind === 'payment'
              ? await this.notify.handle(read.body)
              : await this.notify.handleRefund(read.body);
          reply = result.reply;
        } else {
          reply = this.refused(read.reason, `refused ${noun}: ${read.reason}`);
        }
      } catch (error) {
        reply =
          error instanceof WechatPayNotifyError
            ? this.refused(error.reason, `refused ${noun}: ${error.reason} (${error.message})`)
            : this.failed(error);
      }
      const adapter = this.adapterHost.httpAdapter;
      if (adapter.isHeadersSent(res)) return;
      adapter.setHeader(res, 'Content-Type', 'text/xml; charset=utf-8');
      adapter.reply(res, reply, 200);
    }

    private async body(req: IncomingMessage): Promise<NotifyBody> {
      const stash = takeNotifyStash(req);
      const read = stash?.read;
      if (read === undefined) return readNotifyBody(req, this.config.maxBodyBytes);
      if ('error' in read) throw read.error;
      return read.body;
    }

    private refused(reason: NotifyRejectReason, line: string): string {
      this.logger.warn(line);
      this.hooks.notification({ kind, outcome: reason });
      return rejectionReply(reason);
    }

    private failed(error: unknown): string {
      this.logger.error(`${noun} could not be processed: ${describeError(error)}`);
      this.hooks.notification({ kind, outcome: 'INTERNAL_ERROR' });
      return rejectionReply('INTERNAL_ERROR');
    }
  }
  return WechatPayNotifyController;
}
