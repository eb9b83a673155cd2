import { createRequire } from 'node:module';

type ChildProcessModule = typeof import('node:child_process');

const load = createRequire(import.meta.url);

/**
 * `node:child_process`, loaded on first use. Loading it costs about 3 ms,
 * and the daemon spawns nothing on most runs: only for a character-device
 * LED and `doctor`. Start-up is measured
 * against a bare `node` (see the README's Benchmarks).
 */
export function childProcess(): ChildProcessModule {
  return load('node:child_process') as ChildProcessModule;
}
