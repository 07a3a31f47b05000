import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { WechatPayConfigError } from 'nestjs-wechat-pay-v2';
import { startSimulator, TEST_MERCHANT, type RunningSimulator } from 'wechat-pay-v2-simulator';
import { createDemoApp } from './bootstrap';
import { DemoConfigError, loadDemoConfig, type DemoConfig } from './config/demo.config';

async function main(): Promise<void> {
  const logger = new Logger('Demo');
  let config = loadDemoConfig(process.env, TEST_MERCHANT, () => {
    logger.warn('SESSION_SECRET is not set: using a random one, so tokens end with this process');
    return randomBytes(32).toString('base64url');
  });

  let simulator: RunningSimulator | undefined;
  if (config.simulator) {
    simulator = await startSimulator({
      port: config.simulatorPort,
      tlsPort: config.simulatorTlsPort,
      ...(config.simulatorCertDir !== undefined ? { certDir: config.simulatorCertDir } : {}),
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

  if (simulator) config = withSimulatorCertificate(config, simulator);
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
    console.log(
      `refunds        ${simulator.tlsBaseUrl}/secapi/pay/refund, certificates in ${simulator.certDir}`,
    );
  } else {
    console.log(`WeChat Pay     ${config.wechat.payBaseUrl}, login ${config.wechat.apiBaseUrl}`);
  }
}

/** The environment variable behind each certificate option of the library. */
const ENV_OF_OPTION: Record<string, string> = {
  certP12: 'WECHAT_CERT_P12',
  certPassphrase: 'WECHAT_CERT_PASSPHRASE',
  certPem: 'WECHAT_CERT_PEM',
  keyPem: 'WECHAT_KEY_PEM',
  caCert: 'WECHAT_CA_PEM',
  secapiBaseUrl: 'WECHAT_SECAPI_BASE_URL',
  baseUrl: 'WECHAT_PAY_BASE_URL',
};

/**
 * With the embedded simulator, refunds go to its TLS listener with its merchant certificate,
 * trusting its CA. A certificate named by WECHAT_CERT_* is used instead of the simulator's, and
 * WECHAT_SECAPI_BASE_URL and WECHAT_CA_PEM, when set, win over the listener and its CA.
 */
function withSimulatorCertificate(config: DemoConfig, simulator: RunningSimulator): DemoConfig {
  const given = config.certificate;
  const own = given.p12Path === undefined && given.certPemPath === undefined;
  return {
    ...config,
    wechat: {
      ...config.wechat,
      secapiBaseUrl: config.wechat.secapiBaseUrl ?? simulator.tlsBaseUrl,
    },
    certificate: {
      ...given,
      ...(own
        ? { p12Path: simulator.certificate.p12, passphrase: simulator.certificate.passphrase }
        : {}),
      caPemPath: given.caPemPath ?? simulator.caPem,
    },
  };
}

main().catch((error: unknown) => {
  if (error instanceof DemoConfigError) {
    console.error(error.message);
  } else if (error instanceof WechatPayConfigError) {
    // Names the variable and the problem (a wrong passphrase, a missing file), never a value.
    const problems = error.fields.map(
      (f) => `${ENV_OF_OPTION[f.field] ?? f.field}: ${f.problems.join('; ')}`,
    );
    console.error(`cannot start: ${problems.join('; ')}`);
  } else {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  process.exit(1);
});
