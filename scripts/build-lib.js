#!/usr/bin/env node
// Builds libs/wechat-pay into dist/libs/wechat-pay as a publishable package: compiled JavaScript,
// .d.ts files, the library's own package.json and README. Specs are not shipped.
const { execFileSync } = require('node:child_process');
const { copyFileSync, existsSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const lib = join(root, 'libs/wechat-pay');
const out = join(root, 'dist/libs/wechat-pay');

rmSync(out, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc'), '-p', join(lib, 'tsconfig.lib.json')],
  {
    stdio: 'inherit',
  },
);
copyFileSync(join(lib, 'package.json'), join(out, 'package.json'));
if (existsSync(join(lib, 'README.md')))
  copyFileSync(join(lib, 'README.md'), join(out, 'README.md'));
for (const entry of [
  'index.js',
  'index.d.ts',
  'testing/index.js',
  'testing/index.d.ts',
  'protocol/index.js',
  'protocol/index.d.ts',
]) {
  if (!existsSync(join(out, entry))) {
    console.error(`build-lib: ${entry} is missing from ${out}`);
    process.exit(1);
  }
}
console.error(`build-lib: package written to ${out}`);
