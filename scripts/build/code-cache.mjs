// Makes dist/app.cache, the V8 code cache dist/main.js starts from on Node 20
// and 22.0: runs the daemon once, through start-up, a few steps and a stop,
// and has it save the code it compiled. Run by `npm run build`, and by
// scripts/install.sh with the Node that will run the service (a cache only
// fits the Node that made it).
//
//   node scripts/build/code-cache.mjs [DIST]
import { execFileSync } from 'node:child_process';
import nodeModule from 'node:module';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const dist = resolve(process.argv[2] ?? 'dist');
if (typeof nodeModule.enableCompileCache === 'function') {
  // Node 22.1 and later: dist/main.js uses Node's own compile cache instead (see main.cjs).
  rmSync(join(dist, 'app.cache'), { force: true });
  console.log(`code cache: not needed on Node ${process.version}, which keeps its own (module.enableCompileCache)`);
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'asyncdemo-code-cache-'));
try {
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    `log: {level: info, file: {dir: ${JSON.stringify(join(dir, 'logs'))}}}
led: {enabled: true, backend: simulated}
tasks:
  warm:
    autostart: true
    steps: [{log: warming the code cache}, {spawn: other}, {sleep: 1ms}, {cancel: other}, {stop: true}]
  other:
    steps: [{log: other}, {sleep: 1h}]
`,
  );
  rmSync(join(dist, 'app.cache'), { force: true });
  execFileSync(process.execPath, [join(dist, 'main.js'), 'run', '--config', config], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ASYNCDEMO_WRITE_CODE_CACHE: '1', ASYNCDEMO_STATUS_DIR: dir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  console.log(`code cache: ${join(dist, 'app.cache')} (${Math.round(statSync(join(dist, 'app.cache')).size / 1024)} KiB, Node ${process.version})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
