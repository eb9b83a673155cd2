import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './daemon.js';

/**
 * The Debian packages the sandbox suites install: built from this checkout by
 * `npm run package` for this machine's architecture, once per `npm test` (the
 * pretest step empties build/), and "the previous release" made from it by
 * test/package/older.sh (a lower version, another shipped default config).
 */
const DIR = join(ROOT, 'build', 'package');

function arch(): string {
  return spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout.trim();
}

function built(suffix: string): string | undefined {
  if (!existsSync(DIR)) return undefined;
  const name = readdirSync(DIR).find((n) => n.endsWith(suffix));
  return name === undefined ? undefined : join(DIR, name);
}

/** This checkout's package for this machine (built at the first call of an `npm test` run). */
export function thisPackage(): string {
  const suffix = `_${arch()}.deb`;
  const found = built(suffix);
  if (found !== undefined && !found.includes('0.0.1+1.g0000000')) return found;
  mkdirSync(DIR, { recursive: true });
  const result = spawnSync('bash', [join(ROOT, 'scripts', 'package', 'build.sh'), '--arch', arch(), '--no-lintian', '--out', DIR], { encoding: 'utf8', timeout: 600_000 });
  if (result.status !== 0) throw new Error(`npm run package failed:\n${result.stdout}\n${result.stderr}`);
  const made = readdirSync(DIR).find((n) => n.endsWith(suffix) && !n.includes('0.0.1+1.g0000000'));
  if (made === undefined) throw new Error(`npm run package made no *${suffix} in ${DIR}:\n${result.stdout}`);
  return join(DIR, made);
}

export const OLDER_VERSION = '0.0.1+1.g0000000';

/** The previous release: this package at version 0.0.1+1.g0000000, its default config with slowStepMs 120 (was 100). */
export function olderPackage(): string {
  const out = join(DIR, `asyncdemo_${OLDER_VERSION}_${arch()}.deb`);
  if (existsSync(out)) return out;
  const result = spawnSync('bash', [join(ROOT, 'test', 'package', 'older.sh'), thisPackage(), out, OLDER_VERSION], { encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) throw new Error(`older.sh failed:\n${result.stdout}\n${result.stderr}`);
  return out;
}

/** The version inside a .deb. */
export function packageVersion(deb: string): string {
  return spawnSync('dpkg-deb', ['-f', deb, 'Version'], { encoding: 'utf8' }).stdout.trim();
}

/** `apt-get install` as an unattended upgrade runs it: no terminal, no prompt, edited conffiles kept. */
export const APT_INSTALL = ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-q', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold'];
