import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { MINIPROGRAM_ROOT } from './harness';

/**
 * `npm run typecheck` checks the mini-program's JavaScript against miniprogram-api-typings with
 * apps/miniprogram/jsconfig.json. These specs compile the project with that same configuration,
 * once as it is and once per deliberate mistake in the page's wx.requestPayment call, so a
 * configuration that stopped checking (checkJs off, the typings gone, the pay parameters untyped)
 * fails here.
 */

const CONFIG = join(MINIPROGRAM_ROOT, 'jsconfig.json');
const ORDER_PAGE = join(MINIPROGRAM_ROOT, 'pages/order/order.js');
const API = join(MINIPROGRAM_ROOT, 'utils/api.js');

const parsed = ts.getParsedCommandLineOfConfigFile(CONFIG, undefined, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
    throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
  },
});
if (!parsed) throw new Error(`cannot read ${CONFIG}`);
const config = parsed;

let previous: ts.Program | undefined;

/** Every diagnostic of the project, with the files named in `replaced` read as given there. */
function diagnostics(replaced: Record<string, string> = {}): string[] {
  const host = ts.createCompilerHost(config.options);
  const readFile = host.readFile.bind(host);
  host.readFile = (file) => replaced[file] ?? readFile(file);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, language, onError) =>
    file in replaced
      ? ts.createSourceFile(file, replaced[file], language, true)
      : getSourceFile(file, language, onError);
  const program = ts.createProgram({
    rootNames: config.fileNames,
    options: config.options,
    host,
    oldProgram: previous,
  });
  previous = program;
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const where = diagnostic.file
      ? `${diagnostic.file.fileName.slice(MINIPROGRAM_ROOT.length + 1)}: `
      : '';
    return `${where}TS${diagnostic.code} ${text}`;
  });
}

/** The file with one piece replaced; the piece must be there, so no check passes by missing it. */
function changed(file: string, original: string, replacement: string): Record<string, string> {
  const source = readFileSync(file, 'utf8');
  expect(source).toContain(original);
  return { [file]: source.replace(original, replacement) };
}

/** order.js with one piece of its wx.requestPayment call replaced. */
function withCall(original: string, replacement: string): Record<string, string> {
  return changed(ORDER_PAGE, original, replacement);
}

describe('type-checking the mini-program against miniprogram-api-typings', () => {
  jest.setTimeout(60_000);

  it('checks every JavaScript file of the project, and finds nothing wrong in them as they are', () => {
    expect(config.options).toMatchObject({ allowJs: true, checkJs: true, strict: true });
    expect(config.fileNames.map((file) => file.slice(MINIPROGRAM_ROOT.length + 1)).sort()).toEqual(
      expect.arrayContaining([
        'app.js',
        'config.js',
        'pages/index/index.js',
        'pages/order/order.js',
        'pages/orders/orders.js',
        'utils/api.js',
        'utils/money.js',
      ]),
    );
    expect(diagnostics()).toEqual([]);
  });

  it('fails on a misspelt wx.requestPayment field (paysign)', () => {
    const found = diagnostics(
      withCall('paySign: payParams.paySign,', 'paysign: payParams.paySign,'),
    );
    expect(found).toEqual([
      expect.stringMatching(
        /^pages\/order\/order\.js: TS2561 .*'paysign' does not exist in type 'RequestPaymentOption'/,
      ),
    ]);
  });

  it('fails on a timeStamp turned into a number', () => {
    const found = diagnostics(
      withCall('timeStamp: payParams.timeStamp,', 'timeStamp: Number(payParams.timeStamp),'),
    );
    expect(found).toEqual([
      expect.stringMatching(
        /^pages\/order\/order\.js: TS2322 Type 'number' is not assignable to type 'string'/,
      ),
    ]);
  });

  it('fails on a sign type WeChat does not know', () => {
    const found = diagnostics(withCall('signType: payParams.signType,', "signType: 'SHA256',"));
    expect(found).toEqual([
      expect.stringMatching(/^pages\/order\/order\.js: TS2322 Type '"SHA256"' is not assignable/),
    ]);
  });

  it('fails when a required field is left out', () => {
    const found = diagnostics(withCall('nonceStr: payParams.nonceStr,', ''));
    expect(found).toEqual([
      expect.stringMatching(
        /^pages\/order\/order\.js: TS2345 .*Property 'nonceStr' is missing in type/s,
      ),
    ]);
  });

  it("fails when the shop's pay parameters are declared with a number timeStamp", () => {
    const found = diagnostics(
      changed(
        API,
        '{{ timeStamp: string, nonceStr: string,',
        '{{ timeStamp: number, nonceStr: string,',
      ),
    );
    expect(found).toEqual([
      expect.stringMatching(
        /^pages\/order\/order\.js: TS2322 Type 'number' is not assignable to type 'string'/,
      ),
    ]);
  });

  it('fails when the pay parameters are read under a name the shop does not send (timestamp)', () => {
    const found = diagnostics(
      withCall('timeStamp: payParams.timeStamp,', 'timeStamp: payParams.timestamp,'),
    );
    expect(found).toEqual([
      expect.stringMatching(
        /^pages\/order\/order\.js: TS2551 Property 'timestamp' does not exist on type .*Did you mean 'timeStamp'\?/,
      ),
    ]);
  });
});
