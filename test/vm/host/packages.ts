import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Arch } from './images.js';
import { REPO } from './paths.js';

/** What the guests install: this checkout's package and the previous release (test/package/older.sh), by file name. */
export interface Packages {
  readonly dir: string;
  readonly olderDir: string;
  readonly current: string;
  readonly older: string;
  readonly version: string;
  readonly olderVersion: string;
}

const OLDER_VERSION = '0.0.1+1.g0000000';

/** Builds the package for `arch` into `dir` (npm run package, about 20 s) and, in `olderDir`, the previous release from it. */
export function buildPackages(arch: Arch, dir: string, say: (line: string) => void, olderDir = dir): Packages {
  mkdirSync(dir, { recursive: true });
  const build = spawnSync('bash', [join(REPO, 'scripts', 'package', 'build.sh'), '--arch', arch, '--no-lintian', '--out', dir], { encoding: 'utf8', timeout: 20 * 60_000 });
  if (build.status !== 0) throw new Error(`npm run package failed:\n${build.stdout}\n${build.stderr}`);
  const current = readdirSync(dir).find((n) => n.endsWith(`_${arch}.deb`));
  if (current === undefined) throw new Error(`npm run package made no *_${arch}.deb:\n${build.stdout}`);
  const older = `asyncdemo_${OLDER_VERSION}_${arch}.deb`;
  mkdirSync(olderDir, { recursive: true });
  const made = spawnSync('bash', [join(REPO, 'test', 'package', 'older.sh'), join(dir, current), join(olderDir, older), OLDER_VERSION], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`older.sh failed: ${made.stderr}`);
  const version = spawnSync('dpkg-deb', ['-f', join(dir, current), 'Version'], { encoding: 'utf8' }).stdout.trim();
  say(`packages: ${current} and the previous release ${older}`);
  return { dir, olderDir, current, older, version, olderVersion: OLDER_VERSION };
}

/** Puts the packages into a guest's share, as deb/ with deb/packages.json (read by guest/lib.ts). */
export function sharePackages(packages: Packages, share: string): void {
  const dir = join(share, 'deb');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(packages.dir, packages.current), join(dir, packages.current));
  copyFileSync(join(packages.olderDir, packages.older), join(dir, packages.older));
  writeFileSync(join(dir, 'packages.json'), JSON.stringify({ current: packages.current, older: packages.older, version: packages.version, olderVersion: packages.olderVersion }));
}
