#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliUsageError, parseCli, usage } from './cli';
import { SIMULATOR_DEFAULTS, startSimulator } from './simulator';

/**
 * The `wechat-pay-v2-simulator` command (and `npm run simulator` in this repository). It prints
 * the merchant it accepts: test credentials (TEST_MERCHANT unless WECHAT_* variables are set), so
 * printing them is the point.
 */
function version(): string {
  // Beside the compiled file in the package, one folder up in the sources.
  for (const candidate of [
    join(__dirname, 'package.json'),
    join(__dirname, '..', 'package.json'),
  ]) {
    if (!existsSync(candidate)) continue;
    const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'wechat-pay-v2-simulator' && pkg.version) return pkg.version;
  }
  return 'unknown';
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2), process.env);
  if (cli.command === 'help') {
    process.stdout.write(usage());
    return;
  }
  if (cli.command === 'version') {
    process.stdout.write(`${version()}\n`);
    return;
  }
  const sim = await startSimulator(cli.options);
  const m = sim.merchant;
  const { retention } = sim;
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
      `  JSON controls under ${sim.baseUrl}/__simulator/ (login, request-payment, faults, orders, notifications, refunds, refund-notifications, bills, clock, stats)`,
      `  HTTPS (client certificate for /secapi/*) listening on ${sim.tlsBaseUrl}`,
      `  certificates in ${sim.certDir} (CA: ${sim.caPem})`,
      ...sim.certificates.flatMap((c) => [
        `  mch_id ${c.mchId}: ${c.p12} (passphrase: the mch_id), ${c.certPem}, ${c.keyPem}, CA ${c.caPem}`,
        `    legacy RC2/3DES p12 (OpenSSL 3 refuses it): ${c.legacyP12}`,
      ]),
      `  refunds: SUCCESS ${(cli.options.refundDelayMs ?? SIMULATOR_DEFAULTS.refundDelayMs) * (cli.options.timeScale ?? 1)} ms after acceptance; bills: fee rate ${cli.options.feeRatePercent ?? SIMULATOR_DEFAULTS.feeRatePercent}%, ${(cli.options.billCreating ?? SIMULATOR_DEFAULTS.billCreating) ? 'Bill Creating until 09:00 Beijing time the next day' : 'ready at once'}`,
      `  realism: ${Object.entries(sim.realism)
        .map(([name, on]) => `${name}=${on ? 'on' : 'off'}`)
        .join(',')}`,
      `  retention: closed orders ${retention.closedOrderMs} ms, paid orders ${retention.paidOrderMs} ms, at most ${retention.maxOrders} orders`,
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
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof CliUsageError) {
    process.stderr.write(`wechat-pay-v2-simulator: ${message}\nRun with --help for the options.\n`);
    process.exit(2);
  }
  process.stderr.write(`simulator failed to start: ${message}\n`);
  process.exit(1);
});
