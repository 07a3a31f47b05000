/**
 * `npx ts-node bench/http/profile-summary.ts <file.cpuprofile> [top]`: where a V8 CPU profile
 * spends its time, by owner (a package under node_modules, a folder of this repository, Node's
 * internals, garbage collection, idle) and by function, as shares of the busy (non-idle) time.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function owner(url: string, functionName: string): string {
  if (functionName === '(idle)') return '(idle)';
  if (functionName === '(garbage collector)') return '(garbage collector)';
  if (functionName === '(program)') return '(program)';
  const packages = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packages) return packages[1];
  const repo = /\/(apps\/[^/]+\/src\/[^/]+|libs\/[^/]+\/src\/[^/]+|bench\/[^/]+)/.exec(url);
  if (repo) return repo[1].replace(/\.js$/, '');
  if (url.startsWith('node:') || url === '') return '(node internals and native)';
  return url;
}

function summarise(path: string, top: number): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const owners = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id) as ProfileNode;
    const { functionName, url, lineNumber } = node.callFrame;
    const who = owner(url, functionName);
    if (who === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    owners.set(who, (owners.get(who) ?? 0) + us);
    const name = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const share = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  console.log(`${path}: busy ${(busy / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s`);
  console.log('  by owner (self time)');
  for (const [who, us] of [...owners].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`    ${share(us)}  ${who}`);
  }
  console.log('  by function (self time)');
  for (const [name, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`    ${share(us)}  ${name}`);
  }
}

summarise(process.argv[2], Number(process.argv[3] ?? 15));
