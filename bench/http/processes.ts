import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export interface ServerOptions {
  /** Shown in errors and used for the log file's name. */
  name: string;
  /** The compiled entry point. */
  script: string;
  port: number;
  env: Record<string, string>;
  /** Where the process writes its output. */
  logDir: string;
  /** With a directory, the process writes a V8 CPU profile there when it exits. */
  cpuProfileDir?: string;
  /** The folder the scripts were compiled to: package names resolve under it. */
  buildDir: string;
}

/** CLK_TCK on Linux: /proc/<pid>/stat counts CPU time in hundredths of a second. */
const TICKS_PER_SECOND = 100;
const READY_TIMEOUT_MS = 60_000;

/** A server in its own process, whose memory and CPU time are read from /proc. */
export class ServerProcess {
  private exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(options: ServerOptions): Promise<ServerProcess> {
    const log = openSync(join(options.logDir, `${options.name}.log`), 'w');
    const args = [
      ...(options.cpuProfileDir
        ? [
            '--cpu-prof',
            '--cpu-prof-dir',
            options.cpuProfileDir,
            '--cpu-prof-name',
            `${options.name}.cpuprofile`,
          ]
        : []),
      '-r',
      'tsconfig-paths/register',
      options.script,
    ];
    const child = spawn(process.execPath, args, {
      env: { ...process.env, TS_NODE_BASEURL: options.buildDir, ...options.env },
      stdio: ['ignore', log, log],
    });
    const server = new ServerProcess(options.name, child);
    await server.waitForPort(options.port);
    return server;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Resident set size in bytes. */
  rss(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  }

  /** User plus system CPU time so far, in milliseconds. */
  cpuMs(): number {
    return processCpuMs(this.pid);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }

  private async waitForPort(port: number): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (this.child.exitCode !== null) {
        throw new Error(`${this.name} exited with ${this.child.exitCode} before listening`);
      }
      if (await accepts(port)) return;
      if (Date.now() > deadline) throw new Error(`${this.name} did not listen on ${port}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function processCpuMs(pid: number): number {
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** CPU time so far of each of these processes (those that have ended count as 0). */
export function cpuMsOf(pids: readonly number[]): Map<number, number> {
  const times = new Map<number, number>();
  for (const pid of pids) {
    try {
      times.set(pid, processCpuMs(pid));
    } catch {
      times.set(pid, 0);
    }
  }
  return times;
}
