#!/usr/bin/env node
'use strict';
// dist/main.js: starts the bundle (dist/app.js) from V8's code cache
// (dist/app.cache, made by scripts/build/code-cache.mjs at build time).
// Parsing and compiling the 600 KB bundle was a third of asyncdemo's start-up,
// and a Pi's CPU is slow. Node 22 has module.enableCompileCache for this;
// Node 20 does not. V8 rejects a cache made by another Node or with other
// flags, and the bundle is then compiled as usual: slower, never wrong.
// Until the daemon listens to SIGUSR1 itself (src/signals.ts), the signal would
// open Node's inspector on 127.0.0.1:9229; from here on it does nothing.
process.on('SIGUSR1', () => {});
const { readFileSync, writeFileSync } = require('node:fs');
const { createRequire, wrap } = require('node:module');
const { join } = require('node:path');
const { Script } = require('node:vm');

const filename = join(__dirname, 'app.js');
const cacheFile = join(__dirname, 'app.cache');
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // No cache (a build without one): compile.
}
const script = new Script(wrap(readFileSync(filename, 'utf8')), { filename, cachedData });
if (process.env.ASYNCDEMO_WRITE_CODE_CACHE === '1') {
  // At exit, so the cache holds every function the run compiled, not only the top level.
  process.once('exit', () => writeFileSync(cacheFile, script.createCachedData()));
}
const app = { exports: {} };
script.runInThisContext()(app.exports, createRequire(filename), app, filename, __dirname);
