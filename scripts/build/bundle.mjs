// Bundles src/main.ts and its pure-JS dependencies into dist/app.js: one
// file to read and compile instead of ~300 modules to resolve, which halves
// start-up time and saves memory on a Pi (see the README's Benchmarks).
// Native modules stay external: they are loaded from node_modules when used.
//
// CommonJS, not ESM: Node's ES module loader costs a few ms more at start,
// and a CommonJS script can start from a V8 code cache (scripts/build/main.cjs,
// which becomes dist/main.js, the entry point).
import { build } from 'esbuild';
import { copyFileSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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
  define: { 'import.meta.url': '__asyncdemoUrl' },
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
