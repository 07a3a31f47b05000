import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { findChromium, NO_CHROMIUM_MESSAGE } from './browser';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

jest.setTimeout(120_000);

describe('finding Chromium for the browser tests', () => {
  let dir: string;
  let first: string;
  let second: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'find-chromium-'));
    first = join(dir, 'a');
    second = join(dir, 'b');
    await Promise.all([mkdir(first), mkdir(second)]);
  });

  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function executable(path: string, mode = 0o755): Promise<string> {
    await writeFile(path, '#!/bin/sh\n');
    await chmod(path, mode);
    return path;
  }

  it('takes CHROMIUM_PATH first when it names an executable', async () => {
    const browser = await executable(join(dir, 'my-chrome'));
    await executable(join(first, 'chromium'));
    expect(findChromium({ CHROMIUM_PATH: browser, PATH: first })).toBe(browser);
  });

  it('does not fall back to PATH when CHROMIUM_PATH is wrong', async () => {
    await executable(join(first, 'chromium'));
    expect(findChromium({ CHROMIUM_PATH: join(dir, 'missing'), PATH: first })).toBeUndefined();
  });

  it('tries the usual names on PATH, chromium before google-chrome, skipping non-executables', async () => {
    const chrome = await executable(join(second, 'google-chrome'));
    await executable(join(first, 'chromium-browser'), 0o644);
    expect(findChromium({ PATH: [first, second].join(delimiter) })).toBe(chrome);
    const chromium = await executable(join(second, 'chromium-browser'));
    expect(findChromium({ PATH: [first, second].join(delimiter) })).toBe(chromium);
  });

  describe('a browser suite on a machine without Chromium', () => {
    const jest = join(dirname(require.resolve('jest/package.json')), 'bin', 'jest.js');
    const runSuite = (ci: boolean) =>
      run(
        process.execPath,
        [jest, '--config', join(ROOT, 'jest.config.js'), 'test/browser/cashier.e2e-spec.ts'],
        {
          cwd: ROOT,
          env: { HOME: process.env.HOME, PATH: first, ...(ci && { CI: 'true' }) },
        },
      ).then(
        ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
        (err: { code: number; stdout: string; stderr: string }) => ({
          code: err.code,
          output: err.stdout + err.stderr,
        }),
      );
    const count = (text: string, part: string) => text.split(part).length - 1;

    it('skips with one line saying how to install it', async () => {
      const { code, output } = await runSuite(false);
      expect(code).toBe(0);
      expect(count(output, NO_CHROMIUM_MESSAGE)).toBe(1);
      expect(output).toMatch(/Tests:\s+4 skipped, 4 total/);
      expect(output).not.toContain('Cannot read properties');
    });

    it('fails under CI=true with that same line and nothing else', async () => {
      const { code, output } = await runSuite(true);
      expect(code).toBe(1);
      expect(output).toContain(NO_CHROMIUM_MESSAGE);
      expect(output).toMatch(/Tests:\s+1 failed, 1 total/);
      expect(output).not.toContain('Cannot read properties');
    });
  });
});
