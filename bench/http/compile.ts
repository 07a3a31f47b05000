import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';

/** What the benchmarked servers run: the demo, both packages and the bench's own servers. */
const SOURCE_ROOTS = [
  'apps/demo/src',
  'libs/wechat-pay/src',
  'libs/wechat-pay-simulator/src',
  'bench/http',
];

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (!/\.spec\.ts$/.test(entry.name)) yield path;
  }
}

/**
 * Transpiles the servers to plain JavaScript under `outDir`, file by file as `ts-node
 * --transpile-only` does, so the measured processes run the same code without a TypeScript
 * compiler loaded in them (it would hold tens of megabytes and distort the memory figures).
 */
export function compileServers(repo: string, outDir: string): void {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(repo, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('tsconfig.json could not be read');
  const compilerOptions = { ...config.options, sourceMap: false, declaration: false };
  rmSync(outDir, { recursive: true, force: true });
  for (const root of SOURCE_ROOTS) {
    for (const file of sourceFiles(join(repo, root))) {
      const target = join(outDir, file.slice(repo.length + 1));
      mkdirSync(dirname(target), { recursive: true });
      if (!file.endsWith('.ts')) {
        copyFileSync(file, target);
        continue;
      }
      const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
        compilerOptions,
        fileName: file,
      });
      writeFileSync(target.replace(/\.ts$/, '.js'), outputText);
    }
  }
}
