import { ValidationPipe, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { WechatPayExceptionFilter } from './common/wechat-pay-exception.filter';
import type { DemoConfig } from './config/demo.config';

/** Applies what every instance of the demo needs, whether started by main.ts or by a test. */
export function configureDemoApp(app: INestApplication): void {
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      transform: true,
      // Unknown fields (a client-sent `amount`, say) are dropped, not treated as errors.
      forbidNonWhitelisted: false,
    }),
  );
  app.useGlobalFilters(new WechatPayExceptionFilter());
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Mini-program shop (WeChat Pay v2 demo)')
      .setDescription(
        'Login, catalogue, checkout and orders for a WeChat mini-program. Amounts are integer fen.',
      )
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document);
}

export async function createDemoApp(config: DemoConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config), {
    bufferLogs: false,
  });
  configureDemoApp(app);
  return app;
}
