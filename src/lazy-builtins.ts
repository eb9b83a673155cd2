import { createRequire } from 'node:module';

/**
 * Node's own modules that the daemon needs on some runs only, or only after
 * READY=1, loaded on first use. Each costs milliseconds of a start that the
 * benchmarks (test/README.md) measure against a bare `node`.
 */
const load = createRequire(import.meta.url);

/** `node:child_process` (about 3 ms): spawned only for a character-device LED and `doctor`. */
export function childProcess(): typeof import('node:child_process') {
  return load('node:child_process') as typeof import('node:child_process');
}

/** `node:crypto` (about 3 ms, 17 modules): the config's sha256, first wanted by the status file just after READY. */
export function nodeCrypto(): typeof import('node:crypto') {
  return load('node:crypto') as typeof import('node:crypto');
}

/** `node:tty`: asked only when stdout is a character device. */
export function tty(): typeof import('node:tty') {
  return load('node:tty') as typeof import('node:tty');
}
