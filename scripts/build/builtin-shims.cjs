'use strict';
// Two Node built-ins that the bundled dependencies load at start only for a
// trifle, and that cost more to load than all of asyncdemo's own code does to
// run (measured: assert 2.8 ms, worker_threads 1.7 ms, against a bare `node`
// start of about 24 ms). scripts/build/bundle.mjs points only these importers
// here:
//   sonic-boom: one argument check with assert();
//   pino/lib/tools.js: `isMainThread`, to decide whether to flush at exit.
//     asyncdemo never runs pino in a worker thread.
function assert(value, message) {
  if (!value) throw new Error(message);
}
// sonic-boom calls the module itself; pino reads a property of it.
module.exports = Object.assign(assert, { isMainThread: true });
