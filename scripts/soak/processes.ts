import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { call, sleep } from './http';
import type { LinkMode } from './network';
import type {
  NetworkCommand,
  NetworkCommandBody,
  NetworkLayout,
  NetworkReply,
  NetworkStats,
} from './network-process';

/** A free TCP port on 127.0.0.1 (the kernel's pick, released for the child to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ExitRecord {
  at: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The soak ended it (kill -9 on schedule, or the final stop). */
  expected: boolean;
}

/**
 * A child process the soak owns: its own process group (so the soak can end exactly what it
 * started, npm's children included), output appended to a log file, every exit recorded.
 */
export class ManagedProcess {
  private child?: ChildProcess;
  private log?: WriteStream;
  private expectExit = false;
  private outputWaiters: { pattern: RegExp; resolve: () => void }[] = [];
  private recent = '';
  readonly exits: ExitRecord[] = [];
  /** Lines of output matching `watch`, kept for the audit. */
  readonly watched: string[] = [];
  onUnexpectedExit?: (record: ExitRecord) => void;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
    readonly logFile: string,
    private readonly watch?: RegExp,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  start(): void {
    this.expectExit = false;
    this.recent = '';
    this.log ??= createWriteStream(this.logFile, { flags: 'a' });
    this.log.write(`--- ${new Date().toISOString()} starting ${this.name}\n`);
    const child = spawn(this.command, this.args, {
      env: this.env,
      cwd: process.cwd(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let partial = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.log?.write(text);
      this.recent = (this.recent + text).slice(-4096);
      this.outputWaiters = this.outputWaiters.filter((w) => {
        if (!w.pattern.test(this.recent)) return true;
        w.resolve();
        return false;
      });
      if (this.watch) {
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (this.watch.test(line)) this.watched.push(line);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code, signal) => {
      const record = { at: Date.now(), code, signal, expected: this.expectExit };
      this.exits.push(record);
      this.log?.write(`--- ${new Date().toISOString()} ${this.name} exited (${signal ?? code})\n`);
      if (!record.expected) this.onUnexpectedExit?.(record);
    });
  }

  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void> {
    if (pattern.test(this.recent)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `${this.name} did not print ${pattern} within ${timeoutMs} ms (see ${this.logFile})`,
            ),
          ),
        timeoutMs,
      );
      this.outputWaiters.push({
        pattern,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** kill -9 of the process itself, as an operator or the OOM killer would do it. */
  kill9(): void {
    this.expectExit = true;
    if (this.child?.pid && this.running) process.kill(this.child.pid, 'SIGKILL');
  }

  /** SIGTERM to the process group, then SIGKILL if it has not gone within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    this.expectExit = true;
    const child = this.child;
    if (!child?.pid || !this.running) return this.closeLog();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    signalGroup(child.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child.pid as number, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    // npm's children may outlive it by a moment; the group is the soak's to clean up.
    signalGroup(child.pid, 'SIGKILL');
    this.closeLog();
  }

  private closeLog(): void {
    this.log?.end();
    this.log = undefined;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Polls `url` until it answers 200 or `timeoutMs` passes. */
export async function waitForHttp(url: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const answer = await call(url, { timeoutMs: 2000 });
    if (answer.status === 200) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(
        `${url} did not answer 200 within ${timeoutMs} ms (last: ${answer.status || answer.error})`,
      );
    await sleep(200);
  }
}

/** The load balancer and the partitionable links, in their own process. */
export class NetworkControl {
  private child?: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, (reply: NetworkReply) => void>();

  constructor(
    private readonly layout: NetworkLayout,
    private readonly logDir: string,
  ) {}

  async start(): Promise<void> {
    const log = createWriteStream(join(this.logDir, 'network.log'), { flags: 'a' });
    const child = fork(join(__dirname, 'network-process.ts'), [JSON.stringify(this.layout)], {
      execArgv: ['-r', require.resolve('ts-node/register/transpile-only')],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child = child;
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) =>
        reject(new Error(`the soak network exited (${code}); see network.log`)),
      );
      child.on('message', (message: NetworkReply | 'ready') => {
        if (message === 'ready') return resolve();
        this.pending.get(message.id)?.(message);
        this.pending.delete(message.id);
      });
    });
  }

  private send(command: NetworkCommandBody): Promise<NetworkReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!this.child?.connected) return reject(new Error('the soak network is not running'));
      this.pending.set(id, resolve);
      this.child.send({ ...command, id } as NetworkCommand);
    });
  }

  async setMode(mode: LinkMode): Promise<void> {
    const reply = await this.send({ cmd: 'mode', mode });
    if (!reply.ok) throw new Error(`could not switch the links to ${mode}: ${reply.error}`);
  }

  async stats(): Promise<NetworkStats | undefined> {
    const reply = await this.send({ cmd: 'stats' });
    return reply.ok ? reply.stats : undefined;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
