#!/usr/bin/env node
'use strict';
// dist/main.js, the first JavaScript the process runs.
//
// Signals first: until the daemon listens to them itself (src/signals.ts),
// SIGHUP, SIGTERM, SIGINT, SIGUSR2 and SIGALRM would end the process with no
// line logged, and SIGUSR1 would open Node's inspector on 127.0.0.1:9229.
// From this line on they are held, and the command decides (src/main.ts):
// the daemon stops cleanly on a held SIGTERM and reloads on a held SIGHUP
// once it is ready. Node's own start before this line is the only window.
const HELD = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGALRM'];
const held = [];
const hold = (signal) => held.push(signal);
for (const signal of HELD) process.on(signal, hold);
const early = {
  take: () => held.splice(0),
  release() {
    for (const signal of HELD) process.off(signal, hold);
  },
};

// Then the bundle (dist/app.js), from a compile cache, because parsing and
// compiling the 600 KB bundle is a third of asyncdemo's start-up and a Pi's
// CPU is slow (measured: exec to the first log line 41 -> 30 ms here with the
// cache).
//
// Node 22.1 and later: Node's own compile cache (module.enableCompileCache).
// Node 20 has none, so scripts/build/code-cache.mjs makes one, app.cache.
// Where: CODE_CACHE_DIR when the build fixed it (the Debian package:
// /var/cache/asyncdemo, made by root at install and remade by a dpkg trigger
// when Node.js is upgraded, read by the service and by users alike); else
// dist/app.cache, and Node's compile cache in $CACHE_DIRECTORY or Node's
// default (NODE_COMPILE_CACHE, or a directory under the temporary directory).
// V8 rejects a cache made by another Node or with other flags; the bundle is
// then compiled as usual: slower, never wrong, and `asyncdemo doctor` says so.
const Module = require('node:module');
const { join } = require('node:path');

// Set by scripts/build/bundle.mjs (from $ASYNCDEMO_CODE_CACHE_DIR at build time).
const CODE_CACHE_DIR = undefined;

const filename = join(__dirname, 'app.js');
let app;
if (typeof Module.enableCompileCache === 'function') {
  const cache = Module.enableCompileCache(CODE_CACHE_DIR || process.env.CACHE_DIRECTORY || undefined);
  // Node keeps its compile cache per user (a subdirectory named with the uid): the package's holds
  // root's and the service user's, read-only. Anyone else gets one of their own in Node's default place.
  if (CODE_CACHE_DIR && cache && cache.status === Module.constants.compileCacheStatus.FAILED) Module.enableCompileCache();
  app = require(filename);
} else {
  const { readFileSync, writeFileSync } = require('node:fs');
  const { Script } = require('node:vm');
  const cacheFile = join(CODE_CACHE_DIR || __dirname, 'app.cache');
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // No cache (a build without one): compile.
  }
  const script = new Script(Module.wrap(readFileSync(filename, 'utf8')), { filename, cachedData });
  if (process.env.ASYNCDEMO_WRITE_CODE_CACHE === '1') {
    // At exit, so the cache holds every function the run compiled, not only the top level.
    process.once('exit', () => writeFileSync(cacheFile, script.createCachedData()));
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, Module.createRequire(filename), module, filename, __dirname);
  app = module.exports;
}
app.main(process.argv.slice(2), process.env, early);
