import { existsSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { join } from 'node:path';
import { childProcess } from './lazy-builtins.js';

/** How dist/main.js starts the bundle on this Node (see scripts/build/main.cjs). */
export type CodeCacheState =
  /** Node 22.1 and later: Node's own compile cache, in this directory (undefined: Node's default). */
  | { readonly kind: 'node'; readonly directory: string | undefined }
  /** Node 20: the build's V8 code cache, which this Node accepts. */
  | { readonly kind: 'accepted'; readonly file: string }
  /** Made by another Node (or with other flags): V8 compiles the bundle without it. */
  | { readonly kind: 'rejected'; readonly file: string }
  | { readonly kind: 'missing'; readonly file: string };

/** Whether this Node has `module.enableCompileCache` (22.1 and later). */
export function nodeHasCompileCache(): boolean {
  return typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function';
}

/**
 * Compiles the bundle as dist/main.js does and prints whether V8 took the
 * cache. In a process of its own: V8 keeps what this process compiled, and a
 * second compile of the same script never looks at the cache.
 */
const PROBE = `const { readFileSync } = require('node:fs');
const { wrap } = require('node:module');
const { Script } = require('node:vm');
const [filename, cache] = process.argv.slice(1);
const script = new Script(wrap(readFileSync(filename, 'utf8')), { filename, cachedData: readFileSync(cache) });
process.stdout.write(script.cachedDataRejected ? 'rejected' : 'accepted');`;

/**
 * Tells whether the bundle in `distDir` starts from a cache this Node accepts.
 * Costs a process and a compile of the bundle: for `doctor`, not the daemon.
 */
export function inspectCodeCache(distDir: string, env: Readonly<Record<string, string | undefined>>, hasCompileCache = nodeHasCompileCache(), fixedDir?: string): CodeCacheState {
  if (hasCompileCache) {
    const directory = fixedDir ?? env['CACHE_DIRECTORY'];
    return { kind: 'node', directory: directory === undefined || directory === '' ? undefined : directory };
  }
  // fixedDir: where the build put it (the Debian package's /var/cache/asyncdemo, src/build-info.ts).
  const file = join(fixedDir ?? distDir, 'app.cache');
  if (!existsSync(file)) return { kind: 'missing', file };
  const probe = childProcess().spawnSync(process.execPath, [...process.execArgv, '-e', PROBE, join(distDir, 'app.js'), file], { encoding: 'utf8', timeout: 10_000 });
  return { kind: probe.stdout === 'accepted' ? 'accepted' : 'rejected', file };
}
