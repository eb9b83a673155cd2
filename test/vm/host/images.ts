import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { REPO } from './paths.js';

export type Suite = 'trixie' | 'bookworm';
export type Arch = 'amd64' | 'arm64';

export interface ImageSpec {
  readonly suite: Suite;
  readonly arch: Arch;
}

/** What test/vm/image/build.sh leaves in the cache. */
export interface Image extends ImageSpec {
  readonly dir: string;
  readonly disk: string;
  readonly kernel: string;
  readonly initrd: string;
  readonly key: string;
  readonly versions: ImageVersions;
  /** How long the build took, when this run built it; undefined when it came from the cache. */
  readonly builtInMs: number | undefined;
}

export interface ImageVersions {
  readonly kernel: string;
  readonly systemd: string;
  readonly libgpiod: string;
  readonly python3: string;
  readonly node: string;
}

const RECIPE = join(REPO, 'test', 'vm', 'image');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)]))
    .sort();
}

/**
 * The cache key of an image: a hash of its recipe (every file of
 * test/vm/image/, the suite and the architecture) and, for bookworm, of the
 * Node.js copied into it from this machine. An image is rebuilt exactly when
 * this changes.
 */
export function recipeKey(spec: ImageSpec): string {
  const hash = createHash('sha256');
  hash.update(`${spec.suite}\n${spec.arch}\n`);
  for (const file of filesUnder(RECIPE)) {
    hash.update(`${relative(RECIPE, file)}\n`);
    hash.update(readFileSync(file));
  }
  if (spec.suite === 'bookworm') {
    const node = spawnSync('readlink', ['-f', spawnSync('sh', ['-c', 'command -v node'], { encoding: 'utf8' }).stdout.trim()], { encoding: 'utf8' }).stdout.trim();
    hash.update(readFileSync(node));
  }
  return hash.digest('hex').slice(0, 16);
}

function imageAt(spec: ImageSpec, dir: string, key: string, builtInMs: number | undefined): Image {
  return {
    ...spec,
    dir,
    key,
    disk: join(dir, 'disk.raw'),
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    versions: JSON.parse(readFileSync(join(dir, 'versions.json'), 'utf8')) as ImageVersions,
    builtInMs,
  };
}

/** Holds an exclusive lock on `file` (flock) while `work` runs: two runs never build one image at once. */
async function withLock<T>(file: string, work: () => Promise<T>): Promise<T> {
  const fd = openSync(file, 'a');
  try {
    // flock(1) on the descriptor we hold: it waits for another run's build to finish.
    const locked = spawnSync('flock', ['-x', '-w', '3600', String(3)], { stdio: ['ignore', 'ignore', 'inherit', fd] });
    if (locked.status !== 0) throw new Error(`could not lock ${file}`);
    return await work();
  } finally {
    closeSync(fd);
  }
}

/**
 * The image for `spec` from the cache in `cacheDir`, built first (about two
 * minutes for amd64) when its recipe changed. Older builds of the same image
 * are removed. The build's output goes to `log`.
 */
export async function ensureImage(spec: ImageSpec, cacheDir: string, say: (line: string) => void): Promise<Image> {
  const key = recipeKey(spec);
  const name = `${spec.suite}-${spec.arch}`;
  const dir = join(cacheDir, `${name}-${key}`);
  mkdirSync(cacheDir, { recursive: true });
  return withLock(join(cacheDir, `${name}.lock`), async () => {
    if (existsSync(join(dir, 'versions.json'))) return imageAt(spec, dir, key, undefined);
    for (const old of readdirSync(cacheDir).filter((n) => n.startsWith(`${name}-`) && !n.startsWith(`${name}-${key}`))) {
      say(`removing the outdated image ${old}`);
      rmSync(join(cacheDir, old), { recursive: true, force: true });
    }
    const log = join(cacheDir, `${name}-${key}.build.log`);
    say(`building the ${name} image (recipe ${key}; log: ${log})`);
    const started = Date.now();
    const partial = `${dir}.partial`;
    rmSync(partial, { recursive: true, force: true });
    const out = createWriteStream(log);
    // The build runs from a copy of the recipe: the image is the one its key names even if the
    // checkout changes meanwhile (bash reads a script as it runs it; an edit broke a 50-minute build).
    const recipe = mkdtempSync(join(tmpdir(), 'asyncdemo-vm-recipe-'));
    cpSync(RECIPE, recipe, { recursive: true });
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('bash', [join(recipe, 'build.sh'), spec.suite, spec.arch, partial], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.pipe(out, { end: false });
      child.stderr.pipe(out, { end: false });
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) if (line.startsWith('vm image ') || line.startsWith('gpio-sim:')) say(line);
      });
      child.once('error', reject);
      child.once('close', resolve);
    });
    out.end();
    rmSync(recipe, { recursive: true, force: true });
    if (code !== 0) {
      rmSync(partial, { recursive: true, force: true });
      const tail = readFileSync(log, 'utf8').split('\n').slice(-15).join('\n');
      throw new Error(`building the ${name} image failed (exit ${code}); the end of ${log}:\n${tail}`);
    }
    renameSync(partial, dir);
    const builtInMs = Date.now() - started;
    say(`built ${name} in ${(builtInMs / 1000).toFixed(0)} s (${(statSync(join(dir, 'disk.raw')).blocks * 512 / 2 ** 20).toFixed(0)} MiB on disk)`);
    return imageAt(spec, dir, key, builtInMs);
  });
}
