import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join, resolve } from 'node:path';
import type { PaymentOutcome } from 'wechat-pay-v2-simulator';

/** The mini-program's own directory: the harness runs these files, never a copy. */
export const MINIPROGRAM_ROOT = resolve(__dirname, '../../apps/miniprogram');

type Result = Record<string, unknown>;
type Callback = (result: Result) => void;

interface CallbackOptions {
  success?: Callback;
  fail?: Callback;
  complete?: Callback;
}

interface RequestOptions extends CallbackOptions {
  url: string;
  method?: string;
  data?: unknown;
  header?: Record<string, string>;
  dataType?: string;
  timeout?: number;
}

interface NavigateOptions extends CallbackOptions {
  url: string;
}

interface ToastOptions extends CallbackOptions {
  title: string;
  icon?: string;
  duration?: number;
}

interface ModalOptions extends CallbackOptions {
  title?: string;
  content?: string;
  showCancel?: boolean;
}

interface LoadingOptions extends CallbackOptions {
  title: string;
  mask?: boolean;
}

/** The config.js object, which the harness adjusts before any page runs. */
export interface MiniProgramConfig {
  apiBaseUrl: string;
  paymentCheck: { intervalMs: number; attempts: number };
  requestTimeoutMs: number;
  checkoutRetryDelayMs: number;
}

export interface MiniProgramOptions {
  /** Written into config.js's apiBaseUrl: the demo shop, or a closed port. */
  apiBaseUrl: string;
  /** The simulator that plays WeChat for wx.login and wx.requestPayment. */
  simulatorUrl: string;
  /** The WeChat user (simulator user name) holding the phone; a fresh one by default. */
  user?: string;
  /** Replaces config.js's paymentCheck so polling takes milliseconds. */
  paymentCheck?: { intervalMs: number; attempts: number };
}

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  header: Record<string, string>;
  data: unknown;
  /** Undefined when no answer came back (the fail callback ran). */
  statusCode?: number;
  response?: unknown;
  errMsg: string;
}

export interface RecordedPayment {
  /** Everything the page passed to wx.requestPayment except its callbacks. */
  params: Result;
  outcome: PaymentOutcome;
  errMsg: string;
}

export interface PageInstance {
  readonly route: string;
  readonly options: Readonly<Record<string, string>>;
  data: Record<string, unknown>;
  /** Every setData patch in order, as the render layer received it (JSON-copied). */
  readonly setDataCalls: ReadonlyArray<Record<string, unknown>>;
  setData(patch: Record<string, unknown>, callback?: () => void): void;
  [member: string]: unknown;
}

type PageDefinition = Record<string, unknown> & { data?: Record<string, unknown> };
type AppInstance = Record<string, unknown> & { globalData: Record<string, unknown> };

interface HttpAnswer {
  statusCode: number;
  headers: IncomingHttpHeaders;
  text: string;
}

const GLOBALS = ['wx', 'App', 'Page', 'getApp'] as const;

function httpCall(
  method: string,
  url: URL,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<HttpAnswer> {
  return new Promise((resolvePromise, reject) => {
    // agent: false so no kept-alive socket outlives a test and holds a closing server open.
    const req = httpRequest(url, { method, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolvePromise({
          statusCode: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function postJson(url: string, body: unknown): Promise<{ statusCode: number; body: Result }> {
  const answer = await httpCall(
    'POST',
    new URL(url),
    { 'content-type': 'application/json' },
    JSON.stringify(body),
    10_000,
  );
  return { statusCode: answer.statusCode, body: JSON.parse(answer.text) as Result };
}

function toQuery(data: unknown): string {
  if (typeof data === 'string') return data;
  return Object.entries(data as Record<string, unknown>)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
    .join('&');
}

/** setData keys may be paths such as `order.status` or `items[0].name`. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.replace(/\[(\d+)\]/g, '.$1').split('.');
  let node: Record<string, unknown> = target;
  keys.slice(0, -1).forEach((key, index) => {
    const child = node[key];
    if (child === null || typeof child !== 'object') {
      node[key] = /^\d+$/.test(keys[index + 1]) ? [] : {};
    }
    node = node[key] as Record<string, unknown>;
  });
  node[keys[keys.length - 1]] = value;
}

/** A page URL as wx.navigateTo takes it: route without the leading slash, and its query. */
export function parseUrl(url: string): { route: string; query: Record<string, string> } {
  const [path, search = ''] = url.split('?');
  const query: Record<string, string> = {};
  for (const pair of search.split('&').filter(Boolean)) {
    const [key, value = ''] = pair.split('=');
    query[decodeURIComponent(key)] = decodeURIComponent(value);
  }
  return { route: path.replace(/^\//, ''), query };
}

export const jsonCopy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * The mini-program under Node: `wx`, `App`, `Page` and `getApp` as globals, the project's own
 * app.js, config.js and page files loaded into a fresh module registry, pages kept on a stack the
 * way the WeChat client keeps them. wx.login and wx.requestPayment are answered by the simulator,
 * wx.request goes over real HTTP. One instance at a time: the globals are shared.
 */
export class MiniProgram {
  /** config.js as the pages see it; a test may change it (apiBaseUrl to a closed port, say). */
  config!: MiniProgramConfig;
  readonly storage = new Map<string, unknown>();
  readonly requests: RecordedRequest[] = [];
  readonly payments: RecordedPayment[] = [];
  /** Outcomes for the next wx.requestPayment calls, first first; `success` once empty. */
  readonly paymentOutcomes: PaymentOutcome[] = [];
  readonly toasts: ToastOptions[] = [];
  readonly modals: ModalOptions[] = [];
  readonly loadingTitles: string[] = [];
  loadingVisible = false;
  readonly navigations: Array<{ kind: 'navigateTo' | 'redirectTo'; url: string }> = [];
  /** Exceptions thrown by page code inside callbacks; a test expects none. */
  readonly errors: unknown[] = [];
  readonly stack: PageInstance[] = [];
  readonly user: string;
  openid?: string;
  app!: AppInstance;

  private static active: MiniProgram | undefined;
  private readonly definitions = new Map<string, PageDefinition>();
  private appDefinition?: Record<string, unknown>;
  private loadingRoute?: string;
  private closed = false;

  private constructor(private readonly options: MiniProgramOptions) {
    this.user = options.user ?? `mp-${randomBytes(6).toString('hex')}`;
  }

  /** Loads the project and opens its first page, as the WeChat client does on launch. */
  static launch(options: MiniProgramOptions): MiniProgram {
    if (MiniProgram.active)
      throw new Error('close the running MiniProgram before launching another');
    const mp = new MiniProgram(options);
    MiniProgram.active = mp;
    mp.install();
    const pages = mp.load();
    mp.open(pages[0], {});
    return mp;
  }

  get currentPage(): PageInstance {
    return this.stack[this.stack.length - 1];
  }

  /** Calls a bound handler the way a tap on an element with these data-* attributes would. */
  tap(page: PageInstance, handler: string, dataset: Record<string, unknown> = {}): void {
    const method = page[handler];
    if (typeof method !== 'function') throw new Error(`${page.route} has no handler ${handler}`);
    method.call(page, {
      type: 'tap',
      currentTarget: { dataset },
      target: { dataset },
      detail: {},
    });
  }

  /** wx.navigateTo from outside the pages, e.g. to open a page the way a share card would. */
  navigateTo(url: string): void {
    this.wx.navigateTo({ url });
  }

  /** Polls until the condition holds; the failure message shows what the user would see. */
  async waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() >= deadline) {
        const page = this.currentPage;
        throw new Error(
          `${what}: not reached within ${timeoutMs} ms. Page ${page?.route} data: ` +
            `${JSON.stringify(page?.data)}; toasts ${JSON.stringify(this.toasts)}; ` +
            `modals ${JSON.stringify(this.modals)}; errors ${this.errors.map(String).join(' | ')}`,
        );
      }
      await new Promise((done) => setTimeout(done, 5));
    }
  }

  /** Waits until the page on top of the stack is this route, and returns it. */
  async waitForPage(route: string): Promise<PageInstance> {
    await this.waitFor(() => this.currentPage?.route === route, `page ${route} to open`);
    return this.currentPage;
  }

  requestsTo(method: string, pathPattern: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && pathPattern.test(r.path));
  }

  /** Unloads every page (stopping their timers) and removes the globals. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const page of this.stack.splice(0).reverse()) this.lifecycle(page, 'onUnload');
    for (const name of GLOBALS) delete (globalThis as Record<string, unknown>)[name];
    if (MiniProgram.active === this) MiniProgram.active = undefined;
  }

  private install(): void {
    const globals: Record<(typeof GLOBALS)[number], unknown> = {
      wx: this.wx,
      App: (definition: Record<string, unknown>) => {
        this.appDefinition = definition;
      },
      Page: (definition: PageDefinition) => {
        if (!this.loadingRoute) throw new Error('Page() called outside a page file');
        this.definitions.set(this.loadingRoute, definition);
      },
      getApp: () => this.app,
    };
    Object.assign(globalThis, globals);
  }

  /**
   * Requires config.js, app.js and every page of app.json in a fresh, isolated module registry, so
   * no module state (a stored login, a changed config) carries over from an earlier launch.
   */
  private load(): string[] {
    const manifest = JSON.parse(readFileSync(join(MINIPROGRAM_ROOT, 'app.json'), 'utf8')) as {
      pages: string[];
    };
    jest.isolateModules(() => {
      this.config = jest.requireActual<MiniProgramConfig>(join(MINIPROGRAM_ROOT, 'config.js'));
      this.config.apiBaseUrl = this.options.apiBaseUrl;
      if (this.options.paymentCheck) this.config.paymentCheck = { ...this.options.paymentCheck };
      jest.requireActual(join(MINIPROGRAM_ROOT, 'app.js'));
      for (const route of manifest.pages) {
        this.loadingRoute = route;
        jest.requireActual(join(MINIPROGRAM_ROOT, `${route}.js`));
        if (!this.definitions.has(route)) throw new Error(`${route}.js did not call Page()`);
      }
      this.loadingRoute = undefined;
    });
    if (!this.appDefinition) throw new Error('app.js did not call App()');
    this.app = { globalData: {}, ...this.appDefinition } as AppInstance;
    this.app.globalData = jsonCopy(this.app.globalData);
    this.callSafely(() => (this.app.onLaunch as (() => void) | undefined)?.call(this.app));
    return manifest.pages;
  }

  private instantiate(route: string, query: Record<string, string>): PageInstance {
    const definition = this.definitions.get(route);
    if (!definition) throw new Error(`no page ${route} in app.json`);
    const setDataCalls: Array<Record<string, unknown>> = [];
    const page = {
      ...definition,
      route,
      options: query,
      data: jsonCopy(definition.data ?? {}),
      setDataCalls,
      setData: (patch: Record<string, unknown>, callback?: () => void) => {
        const copy = jsonCopy(patch);
        setDataCalls.push(copy);
        for (const [path, value] of Object.entries(copy)) setPath(page.data, path, value);
        if (callback) this.later(() => callback.call(page));
      },
    } as PageInstance;
    return page;
  }

  private open(route: string, query: Record<string, string>): void {
    const page = this.instantiate(route, query);
    this.stack.push(page);
    this.lifecycle(page, 'onLoad', query);
    this.lifecycle(page, 'onShow');
    this.lifecycle(page, 'onReady');
  }

  private lifecycle(page: PageInstance, hook: string, ...args: unknown[]): void {
    const method = page[hook];
    if (typeof method === 'function') this.callSafely(() => method.apply(page, args));
  }

  private callSafely(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.errors.push(error);
    }
  }

  /** Runs page code on a later turn, as the client does with every callback. */
  private later(action: () => void): void {
    setImmediate(() => {
      if (!this.closed) this.callSafely(action);
    });
  }

  private settle(options: CallbackOptions, ok: boolean, result: Result): void {
    this.later(() => {
      try {
        (ok ? options.success : options.fail)?.(result);
      } finally {
        options.complete?.(result);
      }
    });
  }

  private readonly wx = {
    login: (options: CallbackOptions = {}) => {
      void postJson(`${this.options.simulatorUrl}/__simulator/login`, { user: this.user }).then(
        ({ statusCode, body }) => {
          if (statusCode !== 200) {
            this.settle(options, false, { errMsg: `login:fail ${String(body.error)}` });
            return;
          }
          this.openid = body.openid as string;
          this.settle(options, true, { code: body.code, errMsg: 'login:ok' });
        },
        (error: Error) => this.settle(options, false, { errMsg: `login:fail ${error.message}` }),
      );
    },

    request: (options: RequestOptions) => {
      const method = (options.method ?? 'GET').toUpperCase();
      const header: Record<string, string> = { ...options.header };
      const typeKey = Object.keys(header).find((k) => k.toLowerCase() === 'content-type');
      if (!typeKey) header['content-type'] = 'application/json';
      const contentType = header[typeKey ?? 'content-type'];
      let url: URL;
      try {
        url = new URL(options.url);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(url.protocol);
      } catch {
        this.settle(options, false, { errMsg: 'request:fail invalid url' });
        return;
      }
      let body: string | undefined;
      if (options.data !== undefined && options.data !== null) {
        if (method === 'GET') {
          const query = toQuery(options.data);
          if (query) url.search = url.search ? `${url.search}&${query}` : `?${query}`;
        } else if (typeof options.data === 'string') {
          body = options.data;
        } else if (contentType.includes('application/x-www-form-urlencoded')) {
          body = toQuery(options.data);
        } else {
          body = JSON.stringify(options.data);
        }
      }
      const record: RecordedRequest = {
        method,
        path: url.pathname + url.search,
        header,
        data: options.data,
        errMsg: '',
      };
      this.requests.push(record);
      httpCall(method, url, header, body, options.timeout ?? 60_000).then(
        (answer) => {
          let data: unknown = answer.text;
          if ((options.dataType ?? 'json') === 'json') {
            try {
              data = JSON.parse(answer.text);
            } catch {
              data = answer.text;
            }
          }
          Object.assign(record, {
            statusCode: answer.statusCode,
            response: data,
            errMsg: 'request:ok',
          });
          this.settle(options, true, {
            data,
            statusCode: answer.statusCode,
            header: answer.headers,
            cookies: [],
            errMsg: 'request:ok',
          });
        },
        (error: Error) => {
          record.errMsg = `request:fail ${error.message}`;
          this.settle(options, false, { errMsg: record.errMsg });
        },
      );
    },

    requestPayment: (options: CallbackOptions & Result) => {
      const { success, fail, complete, ...params } = options;
      const outcome = this.paymentOutcomes.shift() ?? 'success';
      const payment: RecordedPayment = { params: jsonCopy(params), outcome, errMsg: '' };
      this.payments.push(payment);
      void this.payAtSimulator(params, outcome).then(
        (errMsg) => {
          payment.errMsg = errMsg;
          this.settle(
            { success, fail, complete } as CallbackOptions,
            errMsg === 'requestPayment:ok',
            {
              errMsg,
            },
          );
        },
        (error: Error) => {
          this.errors.push(error);
          payment.errMsg = `requestPayment:fail ${error.message}`;
          this.settle({ success, fail, complete } as CallbackOptions, false, {
            errMsg: payment.errMsg,
          });
        },
      );
    },

    showToast: (options: ToastOptions) => {
      this.toasts.push(jsonCopy(options));
      this.settle(options, true, { errMsg: 'showToast:ok' });
    },

    showModal: (options: ModalOptions) => {
      this.modals.push(jsonCopy(options));
      this.settle(options, true, { confirm: true, cancel: false, errMsg: 'showModal:ok' });
    },

    showLoading: (options: LoadingOptions) => {
      this.loadingTitles.push(options.title);
      this.loadingVisible = true;
      this.settle(options, true, { errMsg: 'showLoading:ok' });
    },

    hideLoading: (options: CallbackOptions = {}) => {
      this.loadingVisible = false;
      this.settle(options, true, { errMsg: 'hideLoading:ok' });
    },

    navigateTo: (options: NavigateOptions) => this.navigate('navigateTo', options),
    redirectTo: (options: NavigateOptions) => this.navigate('redirectTo', options),

    setStorageSync: (key: string, value: unknown) => {
      this.storage.set(key, jsonCopy(value));
    },
    getStorageSync: (key: string): unknown => (this.storage.has(key) ? this.storage.get(key) : ''),
    removeStorageSync: (key: string) => {
      this.storage.delete(key);
    },
  };

  private navigate(kind: 'navigateTo' | 'redirectTo', options: NavigateOptions): void {
    this.navigations.push({ kind, url: options.url });
    const { route, query } = parseUrl(options.url);
    if (!this.definitions.has(route)) {
      this.settle(options, false, { errMsg: `${kind}:fail page "${route}" is not found` });
      return;
    }
    this.later(() => {
      const current = this.currentPage;
      if (kind === 'redirectTo') {
        this.stack.pop();
        this.lifecycle(current, 'onUnload');
      } else {
        this.lifecycle(current, 'onHide');
      }
      this.open(route, query);
      options.success?.({ errMsg: `${kind}:ok` });
      options.complete?.({ errMsg: `${kind}:ok` });
    });
  }

  /** The user in the WeChat client: logged in whether or not the page has called wx.login. */
  private async payAtSimulator(params: Result, outcome: PaymentOutcome): Promise<string> {
    if (!this.openid) {
      const { body } = await postJson(`${this.options.simulatorUrl}/__simulator/login`, {
        user: this.user,
      });
      this.openid = body.openid as string;
    }
    const { statusCode, body } = await postJson(
      `${this.options.simulatorUrl}/__simulator/request-payment`,
      { ...params, openid: this.openid, outcome },
    );
    if (statusCode !== 200) {
      throw new Error(`the simulator refused the payment request: ${String(body.error)}`);
    }
    return body.errMsg as string;
  }
}
