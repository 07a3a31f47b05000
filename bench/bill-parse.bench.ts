/**
 * Bill parsing: the library's streaming parser (parseBillStream: typed rows, exact fen, one row
 * held at a time) against a plain split-and-loop over the same text read whole, in the same
 * run. Each runs in a child process of its own, so each peak RSS is that parse's alone; an idle
 * child with the same loader gives the floor both start from.
 *
 *   npm run bench:bill              # 200,000 rows
 *   npm run bench:bill -- 500000    # another size
 */
import { spawnSync } from 'node:child_process';
import {
  createReadStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseBillStream } from 'nestjs-wechat-pay-v2/protocol';
import { generatedBillLines } from '../test/fixtures/bills';

type Mode = 'idle' | 'stream' | 'split';

interface Measurement {
  rows: number;
  ms: number;
  /** Peak resident set size of the process, MiB. */
  peakRssMiB: number;
  /** Largest heap seen while parsing, MiB. */
  peakHeapMiB: number;
  /** Largest heap left after a full GC, checked every 50,000 rows: what the parse retains, MiB. */
  retainedHeapMiB: number;
  /** Sum of the amounts, so neither parse can be optimised away. */
  checksum: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** The heap after a full collection: memory still reachable, not garbage awaiting collection. */
function retained(): number {
  gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

function sampler(): { stop(): number } {
  let peak = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().heapUsed) / 1024 / 1024;
    },
  };
}

async function child(mode: Mode, file: string): Promise<Measurement> {
  const heap = sampler();
  const started = performance.now();
  let rows = 0;
  let checksum = 0;
  let retainedHeapMiB = retained();
  let pausedMs = 0;
  const checkpoint = () => {
    if (rows % 50_000 !== 0) return;
    const at = performance.now();
    retainedHeapMiB = Math.max(retainedHeapMiB, retained());
    pausedMs += performance.now() - at;
  };
  if (mode === 'stream') {
    for await (const row of parseBillStream(createReadStream(file))) {
      rows += 1;
      checksum += row.settlementTotalFee;
      checkpoint();
    }
  } else if (mode === 'split') {
    // What a hand-rolled parser does: read it all, split lines and commas, strip the backticks.
    const lines = readFileSync(file, 'utf8').split('\n');
    for (const line of lines) {
      if (!line.startsWith('`')) continue;
      const values = line
        .replace(/\r$/, '')
        .split(',')
        .map((v) => v.replace(/^`/, ''));
      if (values.length > 20) {
        rows += 1;
        // Every amount in the generated bill has two decimals: dropping the point gives fen exactly.
        checksum += Number(values[12].replace('.', ''));
        checkpoint();
      }
    }
  }
  // The forced collections are the measurement's, not the parse's.
  const ms = performance.now() - started - pausedMs;
  return {
    rows,
    ms,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    peakHeapMiB: heap.stop(),
    retainedHeapMiB,
    checksum,
  };
}

function runChild(mode: Mode, file: string): Measurement {
  const result = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      '-r',
      'ts-node/register/transpile-only',
      '-r',
      'tsconfig-paths/register',
      __filename,
      '--child',
      mode,
      file,
    ],
    { encoding: 'utf8', maxBuffer: 1024 * 1024 },
  );
  if (result.status !== 0) throw new Error(`${mode} child failed:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop() as string) as Measurement;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    process.stdout.write(`${JSON.stringify(await child(args[1] as Mode, args[2]))}\n`);
    return;
  }
  const count = Number(args[0] ?? 200_000);
  const dir = mkdtempSync(join(tmpdir(), 'bill-bench-'));
  const file = join(dir, 'bill.csv');
  try {
    writeFileSync(file, [...generatedBillLines(count)].join(''));
    const bytes = statSync(file).size;
    const idle = runChild('idle', file);
    const stream = runChild('stream', file);
    const split = runChild('split', file);
    if (stream.rows !== count || split.rows !== count) {
      throw new Error(
        `row counts differ: stream ${stream.rows}, split ${split.rows}, expected ${count}`,
      );
    }
    const mib = (n: number) => `${n.toFixed(1)} MiB`;
    const rate = (m: Measurement) =>
      `${Math.round(m.rows / (m.ms / 1000)).toLocaleString('en-US')} rows/s`;
    console.log(`bill: ${count.toLocaleString('en-US')} rows, ${mib(bytes / 1024 / 1024)} of text`);
    console.log(
      `idle child (loader only): peak RSS ${mib(idle.peakRssMiB)}, heap ${mib(idle.peakHeapMiB)}`,
    );
    for (const [name, m] of [
      ['parseBillStream (typed rows, exact fen)', stream],
      ['split-and-loop (whole text, strings)', split],
    ] as const) {
      console.log(
        `${name}: ${rate(m)}, ${m.ms.toFixed(0)} ms, peak RSS ${mib(m.peakRssMiB)} ` +
          `(+${mib(m.peakRssMiB - idle.peakRssMiB)} over idle), peak heap ${mib(m.peakHeapMiB)} ` +
          `(+${mib(m.peakHeapMiB - idle.peakHeapMiB)}), retained after GC ` +
          `+${mib(m.retainedHeapMiB - idle.retainedHeapMiB)}`,
      );
    }
    console.log(
      `ratios, stream / split-and-loop: speed ${(split.ms / stream.ms).toFixed(2)}x, ` +
        `RSS over idle ${((stream.peakRssMiB - idle.peakRssMiB) / (split.peakRssMiB - idle.peakRssMiB)).toFixed(3)}, ` +
        `heap over idle ${((stream.peakHeapMiB - idle.peakHeapMiB) / (split.peakHeapMiB - idle.peakHeapMiB)).toFixed(3)}, ` +
        `retained ${((stream.retainedHeapMiB - idle.retainedHeapMiB) / (split.retainedHeapMiB - idle.retainedHeapMiB)).toFixed(4)}`,
    );
    console.log(
      `checksums: stream ${stream.checksum}, split-and-loop ${split.checksum} (${stream.checksum === split.checksum ? 'same' : 'DIFFER'})`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
