import { Controller, HttpCode, Inject, Logger, Post, Req, Res, type Type } from '@nestjs/common';
import type { Response } from 'express';
import { WechatPayConfig } from '../config/wechat-pay.options';
import { readNotifyBody, type NotifyRequest } from './notify-body';
import { describeError } from './notify.logging';
import { rejectNotification, WechatPayNotifyService } from './notify.service';

/**
 * Builds the controller that receives payment notifications at `path`. A fresh class per call, so
 * each module instance can mount its own path.
 *
 * The route reads the body itself, so hosts need no XML body parser and no `rawBody` option. It
 * always answers HTTP 200 with the v2 XML reply, even when something unexpected throws: WeChat
 * reads only the reply body, and a non-200 would just be another failure it retries. Requests
 * refused earlier by the host's own middleware (a body parser's size limit, a global guard) never
 * reach it.
 *
 * Express (`@nestjs/platform-express`) only: the body reading relies on the Node request stream
 * and Express's response API, so Fastify is not supported.
 */
export function createNotifyController(path: string): Type<unknown> {
  @Controller(path)
  class WechatPayNotifyController {
    private readonly logger = new Logger('WechatPayNotify');

    constructor(
      @Inject(WechatPayNotifyService) private readonly notify: WechatPayNotifyService,
      @Inject(WechatPayConfig) private readonly config: WechatPayConfig,
    ) {}

    @Post()
    // Declared as well as sent, so route metadata (OpenAPI documents, say) shows the real status.
    @HttpCode(200)
    async receive(@Req() req: NotifyRequest, @Res() res: Response): Promise<void> {
      let reply: string;
      try {
        const read = await readNotifyBody(req, this.config.maxBodyBytes);
        if (read.ok) {
          reply = (await this.notify.handle(read.body)).reply;
        } else {
          this.logger.warn(`refused a notification: ${read.reason}`);
          reply = rejectNotification(read.reason).reply;
        }
      } catch (error) {
        this.logger.error(`a notification could not be processed: ${describeError(error)}`);
        reply = rejectNotification('INTERNAL_ERROR').reply;
      }
      if (!res.headersSent) res.status(200).type('text/xml').send(reply);
    }
  }
  return WechatPayNotifyController;
}
