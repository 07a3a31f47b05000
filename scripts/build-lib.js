#!/usr/bin/env node
// Builds libs/wechat-pay into dist/libs/wechat-pay as a publishable package: compiled JavaScript,
// .d.ts files, the library's own package.json and README, the project's LICENSE and CHANGELOG.
// Specs are not shipped. Every entry point the package.json exports must exist afterwards.
const { execFileSync } = require('node:child_process');
const { copyFileSync, existsSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const lib = join(root, 'libs/wechat-pay');
const out = join(root, 'dist/libs/wechat-pay');

rmSync(out, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc'), '-p', join(lib, 'tsconfig.lib.json')],
  { stdio: 'inherit' },
);
copyFileSync(join(lib, 'package.json'), join(out, 'package.json'));
copyFileSync(join(lib, 'README.md'), join(out, 'README.md'));
copyFileSync(join(root, 'LICENSE'), join(out, 'LICENSE'));
copyFileSync(join(root, 'CHANGELOG.md'), join(out, 'CHANGELOG.md'));

const manifest = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8'));
const entries = [];
for (const target of Object.values(manifest.exports)) {
  if (typeof target === 'string') entries.push(target);
  else entries.push(target.types, target.default);
}
for (const entry of entries) {
  if (!existsSync(join(out, entry))) {
    console.error(`build-lib: ${entry} is missing from ${out}`);
    process.exit(1);
  }
}
console.error(`build-lib: package written to ${out}`);
