import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { DemoHarness } from '../demo/harness';

/** Debian's Chromium: the one browser the project's machines and CI install (apt-get install chromium). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

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
 * Starts headless Chromium. A missing browser fails loudly rather than skipping, so a machine that
 * lacks it cannot pass the browser tests by running none. Playwright gives every launch a fresh
 * temporary profile (user-data-dir) and removes it on close.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}. The browser tests drive Debian's chromium: ` +
        'install it with `apt-get install -y chromium` (CI does this) and run them again.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
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
export function useBrowserSuite(viewport: { width: number; height: number }): BrowserSuite {
  const suite = {} as BrowserSuite;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    browser = await launchChromium();
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
