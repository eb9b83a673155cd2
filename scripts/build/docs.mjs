// Writes the man pages and bash completion from the command table, the
// settings schema and the step table (src/commands/docs.ts), so they say what
// the code does: dist/man/asyncdemo.1, dist/man/asyncdemo.yaml.5,
// dist/completion/asyncdemo ($ASYNCDEMO_DIST instead of dist/ for the
// package's build, which installs them).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const out = resolve('build-docs.cjs');
await build({ entryPoints: ['scripts/build/docs-entry.ts'], outfile: out, bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning', define: { 'import.meta.url': '"file:///"' } });
try {
  const { COMMANDS, manPage, configManPage, bashCompletion } = createRequire(import.meta.url)(out);
  const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
  // Where: dist/, or the directory the package's build stages (as bundle.mjs).
  const dist = process.env.ASYNCDEMO_DIST ?? 'dist';
  mkdirSync(join(dist, 'man'), { recursive: true });
  mkdirSync(join(dist, 'completion'), { recursive: true });
  writeFileSync(join(dist, 'man', 'asyncdemo.1'), manPage(COMMANDS, version));
  writeFileSync(join(dist, 'man', 'asyncdemo.yaml.5'), configManPage(version));
  writeFileSync(join(dist, 'completion', 'asyncdemo'), bashCompletion(COMMANDS));
} finally {
  rmSync(out, { force: true });
}
