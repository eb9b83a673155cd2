import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Arch } from './images.js';
import { REPO } from './paths.js';

/** The files of the checkout a clone would have: tracked and new ones, not what .gitignore leaves out. */
function checkoutFiles(): string[] {
  const listed = spawnSync('git', ['-C', REPO, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`git ls-files failed in ${REPO}: ${listed.stderr}`);
  return listed.stdout.split('\0').filter((f) => f !== '' && existsSync(join(REPO, f)));
}

/**
 * The directory shared into the guest as `vm`: guest/ (the compiled guest
 * checks and their scripts), src/ (a clean copy of the checkout, as a Pi
 * owner's clone: no node_modules, no dist), out/ (what the guest reports).
 */
export function prepareShare(share: string): void {
  rmSync(share, { recursive: true, force: true });
  const guest = join(share, 'guest');
  mkdirSync(guest, { recursive: true });
  mkdirSync(join(share, 'out'));
  const compiled = join(REPO, 'build', 'test', 'vm', 'guest');
  for (const name of readdirSync(compiled).filter((n) => n.endsWith('.js'))) copyFileSync(join(compiled, name), join(guest, name));
  const scripts = join(REPO, 'test', 'vm', 'guest');
  for (const name of readdirSync(scripts).filter((n) => n.endsWith('.sh'))) copyFileSync(join(scripts, name), join(guest, name));
  // The nodejs stand-in of the image recipe: a guest check makes "a newer nodejs" with it.
  copyFileSync(join(REPO, 'test', 'vm', 'image', 'nodejs-standin.sh'), join(guest, 'nodejs-standin.sh'));
  writeFileSync(join(guest, 'package.json'), '{"type": "module"}\n');
  const src = join(share, 'src');
  for (const file of checkoutFiles()) {
    mkdirSync(dirname(join(src, file)), { recursive: true });
    cpSync(join(REPO, file), join(src, file), { preserveTimestamps: true });
  }
}

const NODE_CPU: Record<Arch, string> = { amd64: 'x64', arm64: 'arm64' };

interface LockPackage {
  readonly version?: string;
  readonly os?: readonly string[];
  readonly cpu?: readonly string[];
}

/**
 * Fills an npm cache with everything package-lock.json needs, for `arch`
 * too (esbuild's binary is a package per platform): the guest cannot reach
 * the registry and runs npm offline from this cache. Quick when it is warm.
 */
export function fillNpmCache(cache: string, arches: readonly Arch[], say: (line: string) => void): void {
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'asyncdemo-vm-npm-'));
  try {
    copyFileSync(join(REPO, 'package.json'), join(work, 'package.json'));
    copyFileSync(join(REPO, 'package-lock.json'), join(work, 'package-lock.json'));
    const npm = (args: string[]): void => {
      const result = spawnSync('npm', [...args, '--cache', cache, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: work, encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`npm ${args.join(' ')} failed while filling the VM suite's npm cache:\n${result.stderr}`);
    };
    npm(['ci', '--ignore-scripts']);
    const lock = JSON.parse(readFileSync(join(work, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> };
    const platformOnly = Object.entries(lock.packages).filter(
      ([path, p]) => path !== '' && p.version !== undefined && p.cpu !== undefined && (p.os === undefined || p.os.includes('linux')) && arches.some((a) => p.cpu?.includes(NODE_CPU[a])),
    );
    const specs = platformOnly.map(([path, p]) => `${path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${p.version ?? ''}`);
    if (specs.length > 0) npm(['cache', 'add', ...specs]);
    say(`npm cache ready (${cache})`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
