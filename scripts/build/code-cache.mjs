// Makes the start-up code cache dist/main.js starts from: runs the daemon
// once, through start-up, a few steps and a stop, and has it save the code it
// compiled. On Node 20 and 22.0 that is dist/app.cache, a V8 code cache; on
// Node 22.1 and later Node keeps its own compile cache, which this makes only
// where the build fixed the cache's directory (the Debian package:
// /var/cache/asyncdemo, where root makes it at install and a dpkg trigger
// remakes it when Node.js is upgraded, and where the service and users read
// it). Run by `npm run build`, and by the package's maintainer scripts with
// the Node that runs the service (a cache only fits the Node that made it).
//
//   node scripts/build/code-cache.mjs [DIST] [--user NAME]
//
// --user: where the build fixed the directory, on Node 22.1 and later, the
// cache is made for that user too (the service's): Node keeps one per user.
import { execFileSync } from 'node:child_process';
import nodeModule from 'node:module';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const userAt = args.indexOf('--user');
const user = userAt >= 0 ? args.splice(userAt, 2)[1] : undefined;
const dist = resolve(args[0] ?? 'dist');
// The directory the build fixed (bundle.mjs writes it into main.js), if any.
const fixedDir = /^const CODE_CACHE_DIR = "(.*)";$/m.exec(readFileSync(join(dist, 'main.js'), 'utf8'))?.[1];
const nodeKeepsItsOwn = typeof nodeModule.enableCompileCache === 'function';
if (nodeKeepsItsOwn && fixedDir === undefined) {
  // A checkout on Node 22.1+: dist/main.js uses Node's compile cache in $CACHE_DIRECTORY or Node's default.
  rmSync(join(dist, 'app.cache'), { force: true });
  console.log(`code cache: not needed on Node ${process.version}, which keeps its own (module.enableCompileCache)`);
  process.exit(0);
}
const cacheDir = fixedDir ?? dist;
if (fixedDir !== undefined) {
  // A cache of another Node only takes space (V8 would reject it; Node keys its own by version).
  mkdirSync(fixedDir, { recursive: true, mode: 0o755 });
  for (const name of readdirSync(fixedDir)) rmSync(join(fixedDir, name), { recursive: true, force: true });
} else {
  rmSync(join(dist, 'app.cache'), { force: true });
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
  execFileSync(process.execPath, [join(dist, 'main.js'), 'run', '--config', config], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ASYNCDEMO_WRITE_CODE_CACHE: '1', ASYNCDEMO_STATUS_DIR: dir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (fixedDir !== undefined && nodeKeepsItsOwn && user !== undefined) copyForUser(fixedDir, user);
  if (fixedDir !== undefined) readableByAll(fixedDir);
  if (nodeKeepsItsOwn) {
    console.log(`code cache: Node ${process.version}'s compile cache in ${fixedDir} (${Math.round(sizeOf(fixedDir) / 1024)} KiB)`);
  } else {
    const file = join(cacheDir, 'app.cache');
    if (!existsSync(file)) throw new Error(`the run wrote no ${file}`);
    console.log(`code cache: ${file} (${Math.round(statSync(file).size / 1024)} KiB, Node ${process.version})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Node names its compile cache's subdirectory after the version, the flags and
 * the uid (v22.23.5-x64-9ac5647c-0 for root): the same entries, copied under
 * `user`'s uid, are the service's. (Where the name has no uid, all share one.)
 */
function copyForUser(dir, name) {
  const uid = execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim();
  const own = `-${process.getuid()}`;
  for (const sub of readdirSync(dir).filter((n) => n.endsWith(own))) {
    cpSync(join(dir, sub), join(dir, `${sub.slice(0, -own.length)}-${uid}`), { recursive: true });
  }
}

/** The service (its own user) and users running `asyncdemo` read the cache root made (Node writes its files 0600). */
function readableByAll(path) {
  const stat = statSync(path);
  chmodSync(path, stat.isDirectory() ? 0o755 : 0o644);
  if (stat.isDirectory()) for (const name of readdirSync(path)) readableByAll(join(path, name));
}

function sizeOf(path) {
  const stat = statSync(path);
  return stat.isDirectory() ? readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0) : stat.size;
}
