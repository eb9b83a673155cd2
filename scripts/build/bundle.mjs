// Bundles src/main.ts and its pure-JS dependencies into dist/app.js: one
// file to read and compile instead of ~300 modules to resolve, which halves
// start-up time and saves memory on a Pi (see test/README.md, Benchmarks).
// Native modules stay external: they are loaded from node_modules when used.
//
// CommonJS, not ESM: Node's ES module loader costs a few ms more at start,
// and a CommonJS script can start from a V8 code cache (scripts/build/main.cjs,
// which becomes dist/main.js, the entry point).
import { build } from 'esbuild';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildVersion } from './version.mjs';

const dateFns = fileURLToPath(new URL('./date-fns-functions.cjs', import.meta.url));
// The version and commit this build carries (src/build-info.ts; `asyncdemo --version`, `asyncdemo status`).
const { version, commit } = buildVersion();
// Where the start-up code cache is kept: fixed by the Debian package's build
// (scripts/package/, /var/cache/asyncdemo, remade there by a dpkg trigger
// when Node.js changes), else next to the bundle (dist/app.cache) or in
// Node's own default (see main.cjs).
const codeCacheDir = process.env.ASYNCDEMO_CODE_CACHE_DIR ?? '';
// Where the bundle goes: dist/, or another directory (the package's build stages its own).
const out = process.env.ASYNCDEMO_DIST ?? 'dist';

await build({
  entryPoints: ['src/main.ts'],
  outfile: `${out}/app.js`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // date-fns-functions.cjs says why these three date-fns modules stay out.
  external: ['sd-notify', 'onoff', 'date-fns/format', 'date-fns/parse', 'date-fns/isValid'],
  // The sources are ES modules and use import.meta.url, which CommonJS has not.
  define: {
    'import.meta.url': '__asyncdemoUrl',
    ASYNCDEMO_BUILD_VERSION: JSON.stringify(version),
    ASYNCDEMO_BUILD_COMMIT: JSON.stringify(commit),
    ASYNCDEMO_BUILD_CODE_CACHE_DIR: JSON.stringify(codeCacheDir),
    // The Debian package's name when scripts/package/ builds for it: a missing binding's fix is then apt's.
    ASYNCDEMO_BUILD_DEBIAN_PACKAGE: JSON.stringify(process.env.ASYNCDEMO_DEBIAN_PACKAGE ?? ''),
  },
  banner: { js: "const __asyncdemoUrl = require('node:url').pathToFileURL(__filename).href;" },
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [
    {
      name: 'leaner-dependencies',
      setup(b) {
        b.onResolve({ filter: /^date-fns$/ }, () => ({ path: dateFns }));
      },
    },
  ],
});

// dist/ is CommonJS whatever the package says.
writeFileSync(`${out}/package.json`, '{ "type": "commonjs" }\n');
writeFileSync(
  `${out}/main.js`,
  readFileSync(fileURLToPath(new URL('./main.cjs', import.meta.url)), 'utf8').replace(/^const CODE_CACHE_DIR = undefined;.*$/m, `const CODE_CACHE_DIR = ${codeCacheDir === '' ? 'undefined' : JSON.stringify(codeCacheDir)};`),
);
chmodSync(`${out}/main.js`, 0o755);
