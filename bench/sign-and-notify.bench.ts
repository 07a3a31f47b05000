/**
 * Compares our v2 signing and notification verification with the tenpay package (the de-facto
 * Node v2 library) and with the bare crypto cost, all measured in one process run.
 *
 * Each operation has three lines: ours, tenpay, and a floor that hashes the already-built
 * `stringSignTemp` (no sorting, no filtering, no XML). Rounds of the three lines are interleaved so
 * that CPU frequency drift or a GC burst hits all of them alike; the median round is reported.
 */
import { createHash, createHmac } from 'node:crypto';
import { availableParallelism, cpus } from 'node:os';
import Payment from 'tenpay';
import {
  canonicalString,
  sign,
  verify,
  type SignType,
  parseXml,
} from 'nestjs-wechat-pay-v2/protocol';

const API_KEY = '192006250b4c09247ec02edce69f6a2d';
const APPID = 'wxd930ea5d5a258f4f';
const MCH_ID = '10000100';

const ROUNDS = 7;
const ROUND_NS = 200_000_000;
const WARMUP_NS = 300_000_000;
const BATCH_NS = 20_000_000;

/** The unifiedorder map of the reference's §2.4 vector, plus the sign_type tenpay always adds. */
function unifiedOrderParams(signType: SignType): Record<string, string | number> {
  return {
    appid: APPID,
    mch_id: MCH_ID,
    nonce_str: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
    sign_type: signType,
    body: '腾讯充值中心-QQ会员充值',
    out_trade_no: '20150806125346',
    total_fee: 88,
    spbill_create_ip: '123.12.12.123',
    notify_url: 'https://example.com/wxpay/notify',
    trade_type: 'JSAPI',
    openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
    attach: '',
  };
}

/** The payment notification of the reference's §6 example, on one line as WeChat sends it. */
const NOTIFY_SIGN = '87C25B6E01BDF976DD19647E5F880925';
const NOTIFY_BODY = [
  '<xml>',
  `<appid><![CDATA[${APPID}]]></appid>`,
  '<attach><![CDATA[]]></attach>',
  '<bank_type><![CDATA[CFT]]></bank_type>',
  '<cash_fee>88</cash_fee>',
  '<fee_type><![CDATA[CNY]]></fee_type>',
  '<is_subscribe><![CDATA[N]]></is_subscribe>',
  `<mch_id><![CDATA[${MCH_ID}]]></mch_id>`,
  '<nonce_str><![CDATA[5d2b6c2a8db53831f7eda20af46e531c]]></nonce_str>',
  '<openid><![CDATA[oUpF8uMuAJO_M2pxb1Q9zNjWeS6o]]></openid>',
  '<out_trade_no><![CDATA[20150806125346]]></out_trade_no>',
  '<result_code><![CDATA[SUCCESS]]></result_code>',
  '<return_code><![CDATA[SUCCESS]]></return_code>',
  `<sign><![CDATA[${NOTIFY_SIGN}]]></sign>`,
  '<time_end><![CDATA[20150806125501]]></time_end>',
  '<total_fee>88</total_fee>',
  '<trade_type><![CDATA[JSAPI]]></trade_type>',
  '<transaction_id><![CDATA[4200000000201508060000000001]]></transaction_id>',
  '</xml>',
].join('');
/** Same body with the amount changed and the signature left alone: both sides must reject it. */
const TAMPERED_NOTIFY_BODY = NOTIFY_BODY.replace(
  '<total_fee>88</total_fee>',
  '<total_fee>1</total_fee>',
);

function floorDigest(stringSignTemp: string, signType: SignType): string {
  const digest =
    signType === 'MD5'
      ? createHash('md5').update(stringSignTemp, 'utf8').digest('hex')
      : createHmac('sha256', API_KEY).update(stringSignTemp, 'utf8').digest('hex');
  return digest.toUpperCase();
}

/** Runs the operation `iterations` times and returns the elapsed nanoseconds. */
type Loop = (iterations: number) => Promise<bigint>;

/**
 * The last result of every loop is checked after the clock stops, so a line that silently started
 * returning something else cannot pass as fast.
 */
function syncLoop(label: string, expected: unknown, run: () => unknown): Loop {
  return (iterations) => {
    let last: unknown;
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i += 1) last = run();
    const elapsed = process.hrtime.bigint() - start;
    if (last !== expected) throw new Error(`${label} returned ${String(last)} during timing`);
    return Promise.resolve(elapsed);
  };
}

function asyncLoop(label: string, expected: unknown, run: () => Promise<unknown>): Loop {
  return async (iterations) => {
    let last: unknown;
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i += 1) last = await run();
    const elapsed = process.hrtime.bigint() - start;
    if (last !== expected) throw new Error(`${label} returned ${String(last)} during timing`);
    return elapsed;
  };
}

interface Line {
  label: string;
  loop: Loop;
}

interface Measured {
  label: string;
  iterations: number;
  medianNs: number;
  minNs: number;
  maxNs: number;
}

interface Operation {
  short: string;
  name: string;
  ours: Line;
  tenpay: Line;
  floor: Line;
}

/**
 * Warms the line up, then sizes a round from the speed of the last warm batch: sizing from a cold
 * first batch would give the slower lines far too few iterations.
 */
async function warmUpAndSize(loop: Loop): Promise<number> {
  let iterations = 16;
  let spent = 0;
  for (;;) {
    const elapsed = Number(await loop(iterations));
    spent += elapsed;
    if (elapsed >= BATCH_NS && spent >= WARMUP_NS) {
      return Math.max(1, Math.round((iterations * ROUND_NS) / elapsed));
    }
    if (elapsed < BATCH_NS) iterations *= 2;
  }
}

async function measure(operation: Operation): Promise<[Measured, Measured, Measured]> {
  const lines = [operation.ours, operation.tenpay, operation.floor];
  const counts: number[] = [];
  for (const line of lines) counts.push(await warmUpAndSize(line.loop));
  const samples: number[][] = lines.map(() => []);
  for (let round = 0; round < ROUNDS; round += 1) {
    for (let k = 0; k < lines.length; k += 1) {
      // Rotating the start means no line is always the one that runs right after another's garbage.
      const index = (round + k) % lines.length;
      const elapsed = await lines[index].loop(counts[index]);
      samples[index].push(Number(elapsed) / counts[index]);
    }
  }
  const results = lines.map((line, index): Measured => {
    const sorted = [...samples[index]].sort((a, b) => a - b);
    return {
      label: line.label,
      iterations: counts[index],
      medianNs: sorted[Math.floor(sorted.length / 2)],
      minNs: sorted[0],
      maxNs: sorted[sorted.length - 1],
    };
  });
  return [results[0], results[1], results[2]];
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function describe(result: Measured): string {
  const perOp = `${integer.format(result.medianNs).padStart(7)} ns/op`;
  const micro = `${(result.medianNs / 1000).toFixed(3).padStart(8)} µs/op`;
  const rate = `${integer.format(1e9 / result.medianNs).padStart(11)} ops/s`;
  const spread = `rounds ${integer.format(result.minNs)}–${integer.format(result.maxNs)} ns`;
  return `  ${result.label.padEnd(44)} ${perOp} ${micro} ${rate}   (${spread}, ${ROUNDS}×${integer.format(result.iterations)})`;
}

/** Collects every disagreement instead of stopping at the first, so one run shows them all. */
async function checkAgreement(tenpay: Payment): Promise<string[]> {
  const problems: string[] = [];
  const expect = (what: string, actual: unknown, wanted: unknown): void => {
    if (actual !== wanted)
      problems.push(`${what}: got ${String(actual)}, expected ${String(wanted)}`);
  };

  const vector = unifiedOrderParams('MD5');
  delete vector.sign_type;
  expect(
    'ours on the §2.4 unifiedorder vector',
    sign(vector, API_KEY, 'MD5'),
    'B6361767A3E153BC519E9AA1B3677788',
  );

  for (const signType of ['MD5', 'HMAC-SHA256'] as const) {
    const params = unifiedOrderParams(signType);
    const ours = sign(params, API_KEY, signType);
    expect(`tenpay ${signType} equals ours`, tenpay._getSign(params, signType), ours);
    const stringSignTemp = `${canonicalString(params)}&key=${API_KEY}`;
    expect(`floor ${signType} equals ours`, floorDigest(stringSignTemp, signType), ours);
  }

  const fields = await parseXml(NOTIFY_BODY);
  expect('ours verifies the notification', verify(fields, API_KEY, { fallback: 'MD5' }), true);
  const parsed = await tenpay._parse(NOTIFY_BODY, 'middleware_pay').catch((error: Error) => error);
  expect(
    'tenpay accepts the notification',
    parsed instanceof Error ? parsed.message : 'accepted',
    'accepted',
  );
  const notifySignTemp = `${canonicalString(fields)}&key=${API_KEY}`;
  expect(
    'floor notification digest equals its sign',
    floorDigest(notifySignTemp, 'MD5'),
    NOTIFY_SIGN,
  );

  const tampered = await parseXml(TAMPERED_NOTIFY_BODY);
  expect(
    'ours rejects a tampered notification',
    verify(tampered, API_KEY, { fallback: 'MD5' }),
    false,
  );
  const rejected = await tenpay._parse(TAMPERED_NOTIFY_BODY, 'middleware_pay').then(
    () => 'accepted',
    () => 'rejected',
  );
  expect('tenpay rejects a tampered notification', rejected, 'rejected');
  return problems;
}

function signOperation(tenpay: Payment, signType: SignType): Operation {
  const params = unifiedOrderParams(signType);
  const expected = sign(params, API_KEY, signType);
  const stringSignTemp = `${canonicalString(params)}&key=${API_KEY}`;
  const fieldCount = Object.values(params).filter((value) => value !== '').length;
  return {
    short: `sign ${signType}`,
    name: `sign ${signType}: unifiedorder map, ${fieldCount} non-empty fields, Chinese body`,
    ours: {
      label: 'ours    sign()',
      loop: syncLoop('ours', expected, () => sign(params, API_KEY, signType)),
    },
    tenpay: {
      label: 'tenpay  Payment#_getSign() (as _request)',
      loop: syncLoop('tenpay', expected, () => tenpay._getSign(params, params.sign_type as string)),
    },
    floor: {
      label: 'floor   crypto on prebuilt stringSignTemp',
      loop: syncLoop('floor', expected, () => floorDigest(stringSignTemp, signType)),
    },
  };
}

async function notifyOperation(tenpay: Payment): Promise<Operation> {
  const notifySignTemp = `${canonicalString(await parseXml(NOTIFY_BODY))}&key=${API_KEY}`;
  return {
    short: 'notify parse+verify',
    name: `notify parse+verify: §6 payment notification, ${NOTIFY_BODY.length} chars, MD5`,
    ours: {
      label: 'ours    parseXml() + verify()',
      loop: asyncLoop('ours', true, async () =>
        verify(await parseXml(NOTIFY_BODY), API_KEY, { fallback: 'MD5' }),
      ),
    },
    tenpay: {
      label: "tenpay  Payment#_parse(body, 'middleware_pay')",
      loop: asyncLoop(
        'tenpay',
        NOTIFY_SIGN,
        async () => (await tenpay._parse(NOTIFY_BODY, 'middleware_pay')).sign,
      ),
    },
    floor: {
      label: 'floor   md5 of prebuilt stringSignTemp',
      loop: syncLoop('floor', NOTIFY_SIGN, () => floorDigest(notifySignTemp, 'MD5')),
    },
  };
}

async function main(): Promise<void> {
  const tenpay = new Payment({ appid: APPID, mchid: MCH_ID, partnerKey: API_KEY });
  const problems = await checkAgreement(tenpay);
  if (problems.length > 0) {
    console.error('Correctness check failed; nothing was timed:');
    for (const problem of problems) console.error(`  - ${problem}`);
    process.exitCode = 1;
    return;
  }

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `sign-and-notify benchmark — node ${process.version}, ${process.platform}/${process.arch}`,
  );
  console.log(`${cpu}, ${availableParallelism()} cores available`);
  console.log(
    `correctness: ours == tenpay == floor for both sign types; both accept the notification and reject a tampered one`,
  );
  console.log(
    `method: warm-up ≥${WARMUP_NS / 1e6} ms per line, then ${ROUNDS} interleaved rounds of ~${ROUND_NS / 1e6} ms; median round shown`,
  );

  const operations = [
    signOperation(tenpay, 'MD5'),
    signOperation(tenpay, 'HMAC-SHA256'),
    await notifyOperation(tenpay),
  ];
  const verdicts: string[] = [];
  const started = process.hrtime.bigint();
  for (const operation of operations) {
    const [ours, other, floor] = await measure(operation);
    console.log(`\n${operation.name}`);
    for (const result of [ours, other, floor]) console.log(describe(result));
    const versusTenpay = ours.medianNs / other.medianNs;
    const versusFloor = ours.medianNs / floor.medianNs;
    console.log(`  ours/tenpay ${versusTenpay.toFixed(2)}   ours/floor ${versusFloor.toFixed(2)}`);
    const met = ours.medianNs <= other.medianNs ? 'met' : 'NOT met';
    verdicts.push(
      `${operation.short.padEnd(20)} target ours <= tenpay: ${met} (ours/tenpay ${versusTenpay.toFixed(2)})`,
    );
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`\nsummary (${seconds.toFixed(1)} s of timing)`);
  for (const verdict of verdicts) console.log(`  ${verdict}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
