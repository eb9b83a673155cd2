// Bundles src/main.ts and its pure-JS dependencies into dist/app.js: one
// file to read and compile instead of ~300 modules to resolve, which halves
// start-up time and saves memory on a Pi (see the README's Benchmarks).
// Native modules stay external: they are loaded from node_modules when used.
//
// CommonJS, not ESM: Node's ES module loader costs a few ms more at start,
// and a CommonJS script can start from a V8 code cache (scripts/build/main.cjs,
// which becomes dist/main.js, the entry point).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// What `asyncdemo --version` says: the package's version and the commit built
// (with -dirty when the tree had changes); $ASYNCDEMO_COMMIT where there is no git.
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
function commit() {
  if (process.env.ASYNCDEMO_COMMIT) return process.env.ASYNCDEMO_COMMIT;
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}

const dateFns = fileURLToPath(new URL('./date-fns-functions.cjs', import.meta.url));

await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/app.js',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // date-fns-functions.cjs says why these three date-fns modules stay out.
  external: ['sd-notify', 'onoff', 'date-fns/format', 'date-fns/parse', 'date-fns/isValid'],
  // The sources are ES modules and use import.meta.url, which CommonJS has not.
  define: { 'import.meta.url': '__asyncdemoUrl', __ASYNCDEMO_VERSION__: JSON.stringify(version), __ASYNCDEMO_COMMIT__: JSON.stringify(commit()) },
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
writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');
copyFileSync(fileURLToPath(new URL('./main.cjs', import.meta.url)), 'dist/main.js');
chmodSync('dist/main.js', 0o755);
