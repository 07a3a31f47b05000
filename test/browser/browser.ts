import { accessSync, constants, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { DemoHarness } from '../demo/harness';

/** Executable names tried on PATH, in order, when CHROMIUM_PATH is not set. */
export const CHROMIUM_NAMES = [
  'chromium',
  'chromium-browser',
  'google-chrome',
  'google-chrome-stable',
  'chrome',
  'microsoft-edge',
];

/** Where macOS keeps the browsers when they are not on PATH. */
const MACOS_APPS = [
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

/** The one line a machine without a browser gets: the browser tests skip with it, or fail with it under CI=true. */
export const NO_CHROMIUM_MESSAGE =
  'Browser tests need Chromium and none was found (CHROMIUM_PATH, then ' +
  `${CHROMIUM_NAMES.join(', ')} on PATH): install it with \`sudo apt-get install -y chromium\` ` +
  '(Debian/Ubuntu) or `brew install --cask chromium` (macOS), or set CHROMIUM_PATH to a Chrome or Chromium executable.';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The browser to drive: CHROMIUM_PATH when set (and then only it: a wrong value is a mistake to
 * report, not to paper over), else the first usual name on PATH, else a macOS app bundle.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env.CHROMIUM_PATH;
  if (configured) return isExecutable(configured) ? configured : undefined;
  const dirs = (env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  for (const name of CHROMIUM_NAMES) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return MACOS_APPS.find(isExecutable);
}

/** Flags for a headless run on a machine without a GPU, a sandbox or a network. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** iPhone 12-14 sized: the cashier is a phone page. */
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

export const SCREENSHOT_DIR = join(__dirname, '..', '..', 'test-results', 'screenshots');

/**
 * Starts headless Chromium, or fails with NO_CHROMIUM_MESSAGE. Playwright gives every launch a
 * fresh temporary profile (user-data-dir) and removes it on close.
 */
export async function launchChromium(executablePath = findChromium()): Promise<Browser> {
  if (!executablePath) throw new Error(NO_CHROMIUM_MESSAGE);
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

/** Saves a full-page screenshot as test-results/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** What a browser suite's tests use: the demo with its simulator, and this test's page. */
export interface BrowserSuite {
  harness: DemoHarness;
  page: Page;
}

/**
 * Registers the hooks every browser suite needs: one demo (with its simulator) and one Chromium
 * for the suite, a fresh context and page per test at `viewport`, faults reset after each test.
 * Read `harness` and `page` inside hooks or tests, once they are set.
 */
function useBrowserSuite(
  viewport: { width: number; height: number },
  executablePath: string,
): BrowserSuite {
  const suite = {} as BrowserSuite;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    browser = await launchChromium(executablePath);
    suite.harness = await DemoHarness.start();
  });

  afterAll(async () => {
    await browser?.close();
    await suite.harness?.close();
  });

  beforeEach(async () => {
    if (!browser) throw new Error('Chromium did not start');
    context = await browser.newContext({ viewport });
    suite.page = await context.newPage();
    suite.page.setDefaultTimeout(10_000);
  });

  afterEach(async () => {
    suite.harness.simulator.controls.resetFaults();
    await context?.close();
  });

  return suite;
}

/**
 * A browser suite: `body` gets the suite's demo and page. Without Chromium the suite is skipped
 * with NO_CHROMIUM_MESSAGE on stderr, except under CI=true, where it fails with that message, so a
 * CI machine cannot pass by running no browser test; in neither case does a hook run.
 */
export function describeInChromium(
  name: string,
  viewport: { width: number; height: number },
  body: (suite: BrowserSuite) => void,
): void {
  const executablePath = findChromium();
  if (executablePath) {
    describe(name, () => body(useBrowserSuite(viewport, executablePath)));
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('finds Chromium', () => {
        throw new Error(NO_CHROMIUM_MESSAGE);
      });
    });
    return;
  }
  process.stderr.write(`${NO_CHROMIUM_MESSAGE}\n`);
  describe.skip(name, () => body({} as BrowserSuite));
}
