'use strict';
// pino loads thread-stream for its transports (a worker thread per
// destination). asyncdemo writes its logs in-process (src/log/files.ts; why:
// the README's Logs), so the bundle leaves thread-stream out, and with it the
// cost of loading worker_threads at every start.
module.exports = class ThreadStream {
  constructor() {
    throw new Error('asyncdemo is built without pino transports (scripts/build/thread-stream-stub.cjs)');
  }
};
