import type { INestApplication } from '@nestjs/common';

/** Listens on BENCH_PORT and exits cleanly on SIGTERM, so --cpu-prof can write its profile. */
export async function listenUntilSignalled(app: INestApplication): Promise<void> {
  process.once('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
  await app.listen(Number(process.env.BENCH_PORT), '127.0.0.1');
}
