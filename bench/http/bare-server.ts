import 'reflect-metadata';
import { Controller, Header, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { listenUntilSignalled } from './server-process';

const REPLY = '<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>';

/** The baseline: a Nest route on Express that does nothing but answer, as cheap as Nest gets. */
@Controller()
class BareController {
  @Post('bare')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  bare(): string {
    return REPLY;
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(BareModule, { logger: false });
  await listenUntilSignalled(app);
}

void main();
