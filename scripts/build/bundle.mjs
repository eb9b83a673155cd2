// Bundles src/main.ts and its pure-JS dependencies into dist/main.js: one
// file to read and compile instead of ~300 modules to resolve, which halves
// start-up time and saves memory on a Pi (see the README's Benchmarks).
// Native modules stay external: they are loaded from node_modules when used.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const subset = fileURLToPath(new URL('./date-fns-subset.cjs', import.meta.url));

await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/main.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['sd-notify', 'onoff'],
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __asyncdemoRequire } from 'node:module';\nconst require = __asyncdemoRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [
    {
      name: 'date-fns-subset',
      setup(b) {
        b.onResolve({ filter: /^date-fns$/ }, () => ({ path: subset }));
      },
    },
  ],
});
