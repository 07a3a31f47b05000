#!/usr/bin/env node
// Builds libs/wechat-pay-simulator into dist/libs/wechat-pay-simulator (or --out-dir <dir>) as a
// publishable package that runs without the library: its compiled JavaScript and .d.ts files, the
// library's protocol helpers compiled into vendor/nestjs-wechat-pay-v2/ (tsc-alias rewrites the
// `nestjs-wechat-pay-v2/protocol` specifier to that copy), package.json, README, CHANGELOG and
// LICENSE. It fails if anything compiled reaches a module other than node's, sax, node-forge
// (X.509 certificates and PKCS#12 files, which node cannot write) or its own, or if package.json
// declares a dependency beyond those.
const { execFileSync } = require('node:child_process');
const { builtinModules } = require('node:module');
const {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} = require('node:fs');
const { dirname, join, relative, resolve } = require('node:path');

const root = join(__dirname, '..');
const pkgDir = join(root, 'libs/wechat-pay-simulator');
const libSrc = join(root, 'libs/wechat-pay/src');
const outFlag = process.argv.indexOf('--out-dir');
const out = resolve(
  outFlag >= 0 ? process.argv[outFlag + 1] : join(root, 'dist/libs/wechat-pay-simulator'),
);
// Inside the repository, so the copied sources resolve xml2js and @types/node from node_modules.
const staging = join(root, 'dist', `.simulator-build-${process.pid}`);
const VENDOR = 'vendor/nestjs-wechat-pay-v2';
const ALLOWED_PACKAGES = new Set(['sax', 'node-forge']);

function fail(message) {
  rmSync(staging, { recursive: true, force: true });
  console.error(`build-simulator: ${message}`);
  process.exit(1);
}

const notSpec = (source) => !/\.spec\.ts$/.test(source);
rmSync(out, { recursive: true, force: true });
rmSync(staging, { recursive: true, force: true });
cpSync(join(pkgDir, 'src'), join(staging, 'src'), { recursive: true, filter: notSpec });
cpSync(libSrc, join(staging, 'src', VENDOR), { recursive: true, filter: notSpec });
writeFileSync(
  join(staging, 'tsconfig.json'),
  JSON.stringify(
    {
      compilerOptions: {
        module: 'commonjs',
        moduleResolution: 'node',
        target: 'ES2022',
        lib: ['ES2022'],
        strict: true,
        declaration: true,
        sourceMap: false,
        removeComments: false,
        esModuleInterop: true,
        isolatedModules: true,
        forceConsistentCasingInFileNames: true,
        noImplicitOverride: true,
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [join(root, 'node_modules/@types')],
        rootDir: 'src',
        // Relative: tsc-alias joins even an absolute outDir onto the config's folder.
        outDir: relative(staging, out),
        baseUrl: 'src',
        // Only the protocol subpath: any other import of the library fails to compile here.
        paths: { 'nestjs-wechat-pay-v2/protocol': [`${VENDOR}/protocol`] },
      },
      // The vendored library is compiled only as far as the simulator imports it.
      include: ['src/*.ts', 'src/pages/**/*.ts'],
    },
    null,
    2,
  ),
);

const run = (bin, args) =>
  execFileSync(process.execPath, [require.resolve(bin), ...args], { stdio: 'inherit', cwd: root });
try {
  run('typescript/bin/tsc', ['-p', join(staging, 'tsconfig.json')]);
  run('tsc-alias/dist/bin/index.js', ['-p', join(staging, 'tsconfig.json')]);
} catch {
  fail('compilation failed');
}
rmSync(staging, { recursive: true, force: true });

copyFileSync(join(pkgDir, 'package.json'), join(out, 'package.json'));
for (const file of ['README.md', 'CHANGELOG.md']) copyFileSync(join(pkgDir, file), join(out, file));
const rootLicense = join(root, 'LICENSE');
copyFileSync(existsSync(rootLicense) ? rootLicense : join(pkgDir, 'LICENSE'), join(out, 'LICENSE'));

const pkg = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8'));
const bin = join(out, pkg.bin['wechat-pay-v2-simulator']);
for (const entry of ['index.js', 'index.d.ts', `${VENDOR}/protocol/index.js`, bin]) {
  if (!existsSync(resolve(out, entry))) fail(`${entry} is missing from ${out}`);
}
if (!readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n'))
  fail('the bin lost its shebang');
chmodSync(bin, 0o755);

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}

// Every module the package reaches must be its own file, a node built-in or a declared dependency.
const builtins = new Set(builtinModules);
const problems = [];
for (const file of files(out)) {
  const patterns = file.endsWith('.d.ts')
    ? [
        /\bfrom\s+["']([^"']+)["']/g,
        /\bimport\(\s*["']([^"']+)["']\s*\)/g,
        /reference types="([^"]+)"/g,
      ]
    : file.endsWith('.js')
      ? [/\brequire\(\s*["']([^"']+)["']\s*\)/g]
      : [];
  const text = patterns.length ? readFileSync(file, 'utf8') : '';
  for (const pattern of patterns) {
    for (const [, specifier] of text.matchAll(pattern)) {
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier);
        const found = ['', '.js', '.d.ts', '/index.js', '/index.d.ts'].some((end) =>
          existsSync(target + end),
        );
        if (!found) problems.push(`${relative(out, file)}: ${specifier} does not exist`);
      } else if (
        !specifier.startsWith('node:') &&
        !builtins.has(specifier) &&
        !ALLOWED_PACKAGES.has(specifier) &&
        specifier !== 'node'
      ) {
        problems.push(`${relative(out, file)}: imports ${specifier}`);
      }
    }
  }
}
const declared = Object.keys(pkg.dependencies ?? {});
if (declared.some((name) => !ALLOWED_PACKAGES.has(name))) {
  problems.push(`package.json declares dependencies beyond ${[...ALLOWED_PACKAGES].join(', ')}`);
}
// Every package the compiled code reaches must be declared, or an install would miss it.
const reached = new Set(
  [...files(out)]
    .filter((file) => file.endsWith('.js'))
    .flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/\brequire\(\s*["']([^"'.][^"']*)["']\s*\)/g)].map(
        ([, specifier]) => specifier,
      ),
    )
    .filter((specifier) => ALLOWED_PACKAGES.has(specifier)),
);
for (const name of reached) {
  if (!declared.includes(name)) problems.push(`the code requires ${name} but package.json does not declare it`);
}
if (problems.length > 0) fail(`the package reaches outside itself:\n  ${problems.join('\n  ')}`);
console.error(`build-simulator: package written to ${out}`);
