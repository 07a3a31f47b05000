import { startSimulator } from './simulator';

/**
 * Standalone simulator: `npm run simulator`. Listens on SIMULATOR_HOST (default 127.0.0.1) and
 * SIMULATOR_PORT (default 3100) and prints the merchant it accepts. Those are test credentials
 * (TEST_MERCHANT unless WECHAT_* variables are set): printing them is the point of this script.
 */
function numberFromEnv(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number`);
  return value;
}

async function main(): Promise<void> {
  const sim = await startSimulator({
    host: process.env.SIMULATOR_HOST || undefined,
    port: numberFromEnv('SIMULATOR_PORT') ?? 3100,
    timeScale: numberFromEnv('SIMULATOR_TIME_SCALE'),
    closeOrderMinAgeMs: numberFromEnv('SIMULATOR_CLOSE_ORDER_MIN_AGE_MS'),
  });
  const m = sim.merchant;
  process.stdout.write(
    [
      `WeChat Pay v2 simulator listening on ${sim.baseUrl}`,
      `  WECHAT_APP_ID=${m.appId}`,
      `  WECHAT_MCH_ID=${m.mchId}`,
      `  WECHAT_API_KEY=${m.apiKey}`,
      `  WECHAT_APP_SECRET=${m.appSecret}`,
      `  base URL for both api.mch.weixin.qq.com and api.weixin.qq.com: ${sim.baseUrl}`,
      `  dashboard (orders, notifications, faults): ${sim.baseUrl}/__simulator/`,
      `  cashier: ${sim.baseUrl}/__simulator/cashier?prepay_id=<prepay_id>&openid=<openid>`,
      `  JSON controls under ${sim.baseUrl}/__simulator/ (login, request-payment, faults, orders, notifications, clock)`,
      '',
    ].join('\n'),
  );
  const shutdown = () => {
    void sim.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `simulator failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
