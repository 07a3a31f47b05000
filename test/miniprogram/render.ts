import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonCopy, MINIPROGRAM_ROOT, parseUrl, type MiniProgramConfig } from './harness';

/**
 * The mini-program's pages rendered by WeChat's miniprogram-simulate: each page's WXML compiled by
 * WeChat's template compiler (wcc, shipped in miniprogram-compiler), rendered by j-component and
 * exparser into the jsdom document, driven by the project's own page files. Specs using it need
 * the jsdom test environment (`@jest-environment jsdom`).
 *
 * miniprogram-simulate renders custom components only and stubs every wx API with an instant
 * `:ok`. This adds what the pages need beyond that, in the smallest form: `Page()` registered as
 * the component it would be, `App()`/`getApp()`, the onLoad/onShow/onReady/onUnload calls, and
 * a scripted shop behind `wx.request`. Real HTTP, real login and real payments are the Node
 * harness's job (harness.ts); here the answers are written by the spec.
 */

/**
 * What miniprogram-simulate's load/render hand back, as far as these specs use them. Its own
 * declarations stay out of the Node program: they declare WeChat's globals (wx, a setTimeout
 * returning a number) for every file compiled with them.
 */
interface SimulatedNode {
  readonly dom: DomElement;
  readonly instance: Record<string, unknown>;
  querySelectorAll(selector: string): SimulatedNode[];
  dispatchEvent(name: string, options?: Record<string, unknown>): void;
  toJSON(): { attrs: Array<{ name: string; value: unknown }> };
}

interface SimulatedRoot extends SimulatedNode {
  attach(parent: DomElement): void;
  detach(): void;
}

interface Simulate {
  load(path: string, options: { rootPath: string }): string;
  render(id: string): SimulatedRoot;
}

interface DomElement {
  readonly textContent: string | null;
  readonly children: ArrayLike<DomElement>;
}

interface DomDocument {
  readonly body: DomElement;
}

type Callback = (result: Record<string, unknown>) => void;

interface CallbackOptions {
  success?: Callback;
  fail?: Callback;
  complete?: Callback;
}

export interface ShopRequest {
  method: string;
  /** The path after config.apiBaseUrl, query string excluded. */
  path: string;
  header: Record<string, string>;
  data: unknown;
}

/** An HTTP answer of the shop, or no answer at all (wx.request's fail). */
export type ShopReply = { statusCode: number; body: unknown } | 'unreachable';

type PageDefinition = Record<string, unknown> & { data?: Record<string, unknown> };

const GLOBALS = ['wx', 'App', 'Page', 'getApp', 'Component', 'Behavior'] as const;

/** One rendered page: what the user reads, and taps on what the user could tap. */
export class RenderedPage {
  constructor(
    readonly route: string,
    readonly root: SimulatedRoot,
    private readonly mp: RenderedMiniProgram,
  ) {}

  /** The page object the page's own code sees as `this`. */
  get instance(): Record<string, unknown> {
    return this.root.instance;
  }

  /** The whole page as text, in document order. */
  get text(): string {
    return this.root.dom.textContent ?? '';
  }

  all(selector: string): SimulatedNode[] {
    return this.root.querySelectorAll(selector);
  }

  /** The text of each element matching the selector (class selectors: the WXML's own classes). */
  texts(selector: string): string[] {
    return this.all(selector).map((node) => (node.dom.textContent ?? '').trim());
  }

  /** The only element matching the selector; throws when there is none or several. */
  one(selector: string): SimulatedNode {
    const found = this.all(selector);
    if (found.length !== 1) {
      throw new Error(
        `${this.route}: ${found.length} elements match ${selector}; page: ${this.text}`,
      );
    }
    return found[0];
  }

  /** For each element matching the selector, the texts of its child elements: a row's cells. */
  rows(selector: string): string[][] {
    return this.all(selector).map((node) =>
      Array.from(node.dom.children).map((child) => (child.textContent ?? '').trim()),
    );
  }

  /** A WXML attribute as the template set it on the element (`disabled`, `loading`, ...). */
  attribute(node: SimulatedNode, name: string): unknown {
    return node.toJSON().attrs.find((attr) => attr.name === name)?.value;
  }

  /** A tap on the only element matching the selector; its bindtap handler runs on a later turn. */
  tap(selector: string): void {
    this.one(selector).dispatchEvent('tap');
  }

  waitFor(condition: () => boolean, what: string): Promise<void> {
    return this.mp.waitFor(condition, `${this.route}: ${what}`, () => this.text);
  }

  /** Waits until the page shows this text somewhere. */
  waitForText(text: string): Promise<void> {
    return this.waitFor(() => this.text.includes(text), `the text ${JSON.stringify(text)}`);
  }
}

/**
 * The project loaded into miniprogram-simulate: app.js and every page of app.json, in an isolated
 * module registry so each launch starts with no login, no module state and config.js as shipped.
 * One at a time: the globals are shared.
 */
export class RenderedMiniProgram {
  config!: MiniProgramConfig;
  app!: { globalData: Record<string, unknown> };
  readonly requests: ShopRequest[] = [];
  /** Everything the pages passed to wx.requestPayment except the callbacks. */
  readonly payments: Array<Record<string, unknown>> = [];
  /**
   * errMsg answers for the next wx.requestPayment calls, first first. With none left, the payment
   * sheet stays open until answerPayment().
   */
  readonly paymentOutcomes: string[] = [];
  readonly modals: Array<Record<string, unknown>> = [];
  readonly toasts: Array<Record<string, unknown>> = [];
  readonly navigations: Array<{ kind: string; url: string }> = [];
  /** Requests no reply was scripted for, and exceptions thrown by page code in callbacks. */
  readonly errors: unknown[] = [];
  readonly pages: RenderedPage[] = [];

  private static active: RenderedMiniProgram | undefined;
  private readonly replies = new Map<string, ShopReply[]>();
  private readonly storage = new Map<string, unknown>();
  private readonly componentIds = new Map<string, string>();
  private readonly openPayments: CallbackOptions[] = [];
  private readonly document: DomDocument;
  private simulate!: Simulate;
  private closed = false;

  private constructor() {
    this.document = (globalThis as unknown as { document: DomDocument }).document;
    this.reply('POST', '/api/auth/login', 201, { token: 'session-token' });
  }

  static launch(): RenderedMiniProgram {
    if (RenderedMiniProgram.active) throw new Error('close the running mini-program first');
    const mp = new RenderedMiniProgram();
    RenderedMiniProgram.active = mp;
    mp.load();
    return mp;
  }

  /**
   * Scripts the shop's answers to `METHOD path`, used in order; the last one keeps answering.
   * A request nobody scripted gets a 404 and is recorded in `errors`.
   */
  reply(method: string, path: string, statusCode: number, body: unknown): this {
    return this.replyWith(method, path, { statusCode, body });
  }

  replyWith(method: string, path: string, ...replies: ShopReply[]): this {
    this.replies.set(`${method} ${path}`, jsonCopy(replies));
    return this;
  }

  requestsTo(method: string, path: string): ShopRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === path);
  }

  /** Answers the oldest open payment sheet. */
  answerPayment(errMsg: string): void {
    const options = this.openPayments.shift();
    if (!options) throw new Error('no payment sheet is open');
    this.settle(options, errMsg === 'requestPayment:ok', { errMsg });
  }

  /** Renders the page of this URL (`/pages/order/order?orderNo=...`) and runs its lifecycle. */
  open(url: string): RenderedPage {
    const { route, query } = parseUrl(url);
    const id = this.componentIds.get(route);
    if (!id) throw new Error(`no page ${route} in app.json`);
    const root = this.simulate.render(id);
    root.attach(this.document.body);
    const page = new RenderedPage(route, root, this);
    this.pages.push(page);
    this.lifecycle(page, 'onLoad', query);
    this.lifecycle(page, 'onShow');
    this.lifecycle(page, 'onReady');
    return page;
  }

  /** Polls until the condition holds; the failure message shows what the page reads. */
  async waitFor(condition: () => boolean, what: string, show: () => string): Promise<void> {
    const deadline = Date.now() + 2000;
    while (!condition()) {
      if (Date.now() >= deadline) {
        throw new Error(
          `${what}: not reached. The page reads: ${show()}; errors: ${this.errors.map(String).join(' | ')}`,
        );
      }
      await new Promise((done) => setTimeout(done, 5));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const page of this.pages.splice(0).reverse()) {
      this.lifecycle(page, 'onUnload');
      page.root.detach();
    }
    for (const name of GLOBALS) delete (globalThis as Record<string, unknown>)[name];
    if (RenderedMiniProgram.active === this) RenderedMiniProgram.active = undefined;
  }

  private load(): void {
    const manifest = JSON.parse(readFileSync(join(MINIPROGRAM_ROOT, 'app.json'), 'utf8')) as {
      pages: string[];
    };
    let appDefinition: { globalData?: Record<string, unknown> } | undefined;
    jest.isolateModules(() => {
      // Requiring it installs Component(), Behavior() and its stubbed wx as globals.
      this.simulate = jest.requireActual<Simulate>('miniprogram-simulate');
      const globals = globalThis as Record<string, unknown>;
      Object.assign(globals.wx as object, this.wx);
      globals.App = (definition: typeof appDefinition) => {
        appDefinition = definition;
      };
      globals.getApp = () => this.app;
      globals.Page = (definition: PageDefinition) => this.registerPage(definition);
      this.config = jest.requireActual<MiniProgramConfig>(join(MINIPROGRAM_ROOT, 'config.js'));
      this.config.paymentCheck = { intervalMs: 5, attempts: 3 };
      this.config.checkoutRetryDelayMs = 1;
      jest.requireActual(join(MINIPROGRAM_ROOT, 'app.js'));
      for (const route of manifest.pages) {
        this.componentIds.set(
          route,
          this.simulate.load(join(MINIPROGRAM_ROOT, route), { rootPath: MINIPROGRAM_ROOT }),
        );
      }
    });
    if (!appDefinition) throw new Error('app.js did not call App()');
    this.app = { ...appDefinition, globalData: jsonCopy(appDefinition.globalData ?? {}) };
  }

  /**
   * What the client does with a Page() definition, in j-component's terms: its functions become
   * methods, `data` the component's data, and its other fields are copied onto each instance.
   */
  private registerPage(definition: PageDefinition): void {
    const methods: Record<string, unknown> = {};
    const fields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(definition)) {
      if (key === 'data') continue;
      if (typeof value === 'function') methods[key] = value;
      else fields[key] = value;
    }
    const component = (globalThis as Record<string, unknown>).Component as (
      options: Record<string, unknown>,
    ) => void;
    component({
      data: definition.data ?? {},
      methods,
      lifetimes: {
        created(this: Record<string, unknown>) {
          Object.assign(this, jsonCopy(fields));
        },
      },
    });
  }

  private lifecycle(page: RenderedPage, hook: string, ...args: unknown[]): void {
    const method = page.instance[hook];
    if (typeof method === 'function') this.callSafely(() => method.apply(page.instance, args));
  }

  private callSafely(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.errors.push(error);
    }
  }

  /** Page code runs on a later turn, as the client runs every callback. */
  private settle(options: CallbackOptions, ok: boolean, result: Record<string, unknown>): void {
    setTimeout(() => {
      if (this.closed) return;
      this.callSafely(() => {
        try {
          (ok ? options.success : options.fail)?.(result);
        } finally {
          options.complete?.(result);
        }
      });
    }, 0);
  }

  private readonly wx = {
    request: (
      options: CallbackOptions & {
        url: string;
        method?: string;
        data?: unknown;
        header?: Record<string, string>;
      },
    ) => {
      const url = new URL(options.url);
      const request: ShopRequest = {
        method: (options.method ?? 'GET').toUpperCase(),
        path: url.pathname,
        header: { ...options.header },
        data: options.data === undefined ? undefined : jsonCopy(options.data),
      };
      this.requests.push(request);
      const queue = this.replies.get(`${request.method} ${request.path}`);
      if (!queue) {
        this.errors.push(new Error(`no reply scripted for ${request.method} ${request.path}`));
        this.settle(options, true, { statusCode: 404, data: { message: 'not scripted' } });
        return;
      }
      const reply = queue.length > 1 ? (queue.shift() as ShopReply) : queue[0];
      if (reply === 'unreachable') {
        this.settle(options, false, { errMsg: 'request:fail timeout' });
      } else {
        this.settle(options, true, {
          statusCode: reply.statusCode,
          data: jsonCopy(reply.body),
          header: {},
          errMsg: 'request:ok',
        });
      }
    },

    login: (options: CallbackOptions) => {
      this.settle(options, true, { code: 'login-code', errMsg: 'login:ok' });
    },

    requestPayment: (options: CallbackOptions & Record<string, unknown>) => {
      const { success, fail, complete, ...params } = options;
      this.payments.push(jsonCopy(params));
      this.openPayments.push({ success, fail, complete });
      const outcome = this.paymentOutcomes.shift();
      if (outcome !== undefined) this.answerPayment(outcome);
    },

    showModal: (options: CallbackOptions & Record<string, unknown>) => {
      this.modals.push(jsonCopy(options));
      this.settle(options, true, { confirm: true, cancel: false, errMsg: 'showModal:ok' });
    },

    showToast: (options: CallbackOptions & Record<string, unknown>) => {
      this.toasts.push(jsonCopy(options));
      this.settle(options, true, { errMsg: 'showToast:ok' });
    },

    navigateTo: (options: CallbackOptions & { url: string }) => {
      this.navigations.push({ kind: 'navigateTo', url: options.url });
      this.settle(options, true, { errMsg: 'navigateTo:ok' });
    },

    redirectTo: (options: CallbackOptions & { url: string }) => {
      this.navigations.push({ kind: 'redirectTo', url: options.url });
      this.settle(options, true, { errMsg: 'redirectTo:ok' });
    },

    setStorageSync: (key: string, value: unknown) => {
      this.storage.set(key, jsonCopy(value));
    },
    getStorageSync: (key: string): unknown => (this.storage.has(key) ? this.storage.get(key) : ''),
    removeStorageSync: (key: string) => {
      this.storage.delete(key);
    },
  };
}
