import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { startSimulator, TEST_MERCHANT, type RunningSimulator } from 'wechat-pay-v2-simulator';
import { createDemoApp } from './bootstrap';
import { DemoConfigError, loadDemoConfig } from './config/demo.config';

async function main(): Promise<void> {
  const logger = new Logger('Demo');
  const config = loadDemoConfig(process.env, TEST_MERCHANT, () => {
    logger.warn('SESSION_SECRET is not set: using a random one, so tokens end with this process');
    return randomBytes(32).toString('base64url');
  });

  let simulator: RunningSimulator | undefined;
  if (config.simulator) {
    simulator = await startSimulator({
      port: config.simulatorPort,
      merchants: [
        {
          appId: config.wechat.appId,
          mchId: config.wechat.mchId,
          apiKey: config.wechat.apiKey,
          appSecret: config.wechat.appSecret,
        },
      ],
    });
  }

  const app = await createDemoApp(config);
  const shutdown = async (signal: NodeJS.Signals) => {
    logger.log(`${signal}: closing`);
    await app.close();
    await simulator?.stop();
    process.exit(0);
  };
  process.once('SIGINT', (s) => void shutdown(s));
  process.once('SIGTERM', (s) => void shutdown(s));
  await app.listen(config.port, config.host);
  const url = `http://${config.host}:${config.port}`;
  const extras = [
    ...(config.apiDocs ? [`API docs ${url}/docs`] : []),
    `health ${url}/health`,
    ...(config.metrics.enabled ? [`metrics ${url}/metrics`] : []),
  ];
  console.log(`demo shop      ${url}  (${extras.join(', ')})`);
  console.log(
    `rate limits    ${config.rateLimit.redisUrl ? 'shared in Redis' : 'counted in this process'}`,
  );
  console.log(`database       ${config.databaseUrl.replace(/\/\/[^@/]*@/, '//***@')}`);
  if (simulator) {
    console.log(
      `simulator      ${simulator.baseUrl}  (dashboard ${simulator.baseUrl}/__simulator/)`,
    );
    console.log(
      `merchant       appid ${config.wechat.appId}, mch_id ${config.wechat.mchId} (simulator test merchant)`,
    );
  } else {
    console.log(`WeChat Pay     ${config.wechat.payBaseUrl}, login ${config.wechat.apiBaseUrl}`);
  }
}

main().catch((error: unknown) => {
  if (error instanceof DemoConfigError) {
    console.error(error.message);
  } else {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  process.exit(1);
});
