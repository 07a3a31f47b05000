import { ValidationPipe } from '@nestjs/common';
import { HttpAdapterHost, NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { ApiExceptionFilter } from './common/api-exception.filter';
import { JsonDepthPipe } from './common/json-depth.pipe';
import type { DemoConfig } from './config/demo.config';

/**
 * The largest JSON or form body the API reads: an order of 20 lines is under 1 KiB. Larger bodies
 * get 413 before they are parsed.
 */
export const MAX_BODY = '16kb';

/** Applies what every instance of the demo needs, whether started by main.ts or by a test. */
export function configureDemoApp(app: NestExpressApplication, config: DemoConfig): void {
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.useBodyParser('json', { limit: MAX_BODY });
  app.useBodyParser('urlencoded', { limit: MAX_BODY, extended: false });
  app.useGlobalPipes(
    new JsonDepthPipe(),
    new ValidationPipe({
      whitelist: true,
      transform: true,
      // Unknown fields (a client-sent `amount`, say) are dropped, not treated as errors.
      forbidNonWhitelisted: false,
    }),
  );
  app.useGlobalFilters(new ApiExceptionFilter(app.get(HttpAdapterHost).httpAdapter));
  if (config.apiDocs) {
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
}

export async function createDemoApp(config: DemoConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config), {
    bufferLogs: false,
    // A start-up failure (a certificate that does not open, say) reaches main.ts, which says what
    // to change, instead of ending the process inside Nest.
    abortOnError: false,
  });
  configureDemoApp(app, config);
  return app;
}
