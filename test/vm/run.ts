/**
 * The VM suite: asyncdemo on Debian trixie and bookworm, booted in QEMU with
 * their own kernels, a gpio-sim chip posing as the Pi's GPIO controller, and
 * systemd as PID 1. `npm run test:vm` (amd64: trixie and bookworm),
 * `npm run test:vm -- --arch arm64` (trixie), `--image NAME` for one image,
 * `--keep` to keep the guest's disk and share, `--jobs 1` for one image at
 * a time (default: two side by side), `--grep PATTERN` for the checks whose
 * names match. Needs root. Images are cached
 * in $ASYNCDEMO_VM_CACHE (default /var/cache/asyncdemo-vm), keyed by a hash
 * of their recipe (test/vm/image/). What each phase checks is in
 * test/vm/guest/*.test.ts; test/README.md, "The VM suite", says what and why.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureImage, type Arch, type Image, type ImageSpec, type Suite } from './host/images.js';
import { cacheDir } from './host/paths.js';
import { bootPhase, consoleTail, createOverlay, follow, kvmPossible, qemuUnavailable, type Accel, type BootResult } from './host/qemu.js';
import { buildPackages, sharePackages, type Packages } from './host/packages.js';
import { fillNpmCache, prepareShare } from './host/share.js';

const { values } = parseArgs({
  options: {
    arch: { type: 'string', default: 'amd64' },
    image: { type: 'string', multiple: true },
    phase: { type: 'string', multiple: true },
    keep: { type: 'boolean', default: false },
    jobs: { type: 'string', default: '2' },
    grep: { type: 'string' },
  },
});
const arch = values.arch as Arch;
if (values.grep !== undefined && !/^[\w.|-]+$/.test(values.grep)) {
  console.error('test:vm: --grep is a test name pattern of letters, digits and . | - (it travels on the kernel command line)');
  process.exit(64);
}
if (arch !== 'amd64' && arch !== 'arm64') {
  console.error(`test:vm: --arch is amd64 or arm64, not ${String(values.arch)}`);
  process.exit(64);
}

/** One boot each. The clock phase ends in a power cut; aftercut is the boot after it. */
interface Phase {
  readonly name: 'main' | 'clock' | 'aftercut' | 'bench';
  readonly timeoutMs: number;
  /** How far the guest's clock is set back at boot. */
  readonly clockBehindDays?: number;
  readonly cut?: boolean;
  readonly bench?: boolean;
}
const PHASES: readonly Phase[] = [
  { name: 'main', timeoutMs: 40 * 60_000 },
  // A Pi has no RTC: fake-hwclock restores a time that may be days old.
  { name: 'clock', timeoutMs: 15 * 60_000, clockBehindDays: 10, cut: true },
  { name: 'aftercut', timeoutMs: 15 * 60_000 },
  // Not a test: LED changes per second and CPU per change; only with --phase bench.
  { name: 'bench', timeoutMs: 60 * 60_000, bench: true },
];
const phases = PHASES.filter((p) => (values.phase === undefined ? p.bench !== true : values.phase.includes(p.name)));
const suites: Suite[] = (values.image as Suite[] | undefined) ?? (arch === 'amd64' ? ['trixie', 'bookworm'] : ['trixie']);

const say = (line: string): void => console.log(`# vm: ${line}`);
// As test/helpers/requirements.ts: a skip is one line here, a failure under CI=true (CI installs what the suite needs).
const CI = process.env['CI'] === 'true';
const skip = (why: string): never => {
  console.log(`# VM suite skipped: ${why}${CI ? ' (a failure under CI=true)' : ''}`);
  process.exit(CI ? 1 : 0);
};

function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (mmdebstrap, the image cache)';
  const missing = qemuUnavailable(arch);
  if (missing !== undefined) return missing;
  for (const [tool, pkg] of [['mmdebstrap', 'mmdebstrap'], ['mkfs.ext4', 'e2fsprogs'], ['flock', 'util-linux']] as const) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt install ${pkg})`;
  }
  if (arch === 'arm64' && !existsSync('/proc/sys/fs/binfmt_misc/qemu-aarch64')) {
    // mmdebstrap runs the image's arm64 programs through qemu-user: the handler is registered on a mounted binfmt_misc.
    spawnSync('sh', ['-c', 'mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; update-binfmts --enable qemu-aarch64'], { stdio: 'ignore' });
    if (!existsSync('/proc/sys/fs/binfmt_misc/qemu-aarch64')) return 'building an arm64 image needs qemu-user-static and binfmt-support (a binfmt_misc handler for aarch64)';
  }
  return undefined;
}

interface Counts {
  pass: number;
  fail: number;
  skipped: number;
}

function tapCounts(file: string): Counts | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  const count = (key: string): number => Number(new RegExp(`^# ${key} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  if (!/^# tests \d+$/m.test(text)) return undefined;
  return { pass: count('pass'), fail: count('fail') + count('cancelled'), skipped: count('skipped') + count('todo') };
}

interface ImageReport {
  readonly image: Image;
  readonly accel: Accel;
  readonly boots: { phase: string; result: BootResult; counts: Counts | undefined }[];
  readonly metrics: Record<string, unknown>;
}

/** KVM where it boots the image's kernel, else QEMU's own emulation (TCG). */
async function chooseAccel(image: Image, share: string, npmCache: string, runDir: string): Promise<Accel> {
  const forced = process.env['ASYNCDEMO_VM_ACCEL'];
  if (forced === 'kvm' || forced === 'tcg') return forced;
  if (!kvmPossible(image.arch)) return 'tcg';
  const overlay = join(runDir, 'probe.qcow2');
  createOverlay(image, overlay);
  try {
    // A probe boot: on a nested KVM that cannot run this kernel QEMU stops with
    // an emulation failure within seconds (bootPhase notices); where KVM
    // works it is a full boot of a few seconds.
    const result = await bootPhase({ image, overlay, share, npmCache, phase: 'probe', accel: 'kvm', console: join(runDir, 'probe.console'), timeoutMs: 120_000 });
    const ok = result.end === 'poweroff' && readFileSync(join(share, 'out', 'probe.exit'), { encoding: 'utf8', flag: 'a+' }).trim() === '0';
    say(ok ? 'KVM boots the guest: using it' : `KVM cannot run this guest (${/KVM internal error|emulation failure|failed to set MSR[^\n]*/.exec(result.stderr)?.[0] ?? result.end}): using QEMU's emulation (TCG)`);
    return ok ? 'kvm' : 'tcg';
  } finally {
    rmSync(overlay, { force: true });
    rmSync(join(share, 'out'), { recursive: true, force: true });
    mkdirSync(join(share, 'out'));
  }
}

async function runImage(spec: ImageSpec, npmCache: string, packages: Packages): Promise<ImageReport | undefined> {
  const tag = `${spec.suite}/${spec.arch}`;
  let image: Image;
  try {
    image = await ensureImage(spec, cacheDir(), (line) => say(`${tag}: ${line}`));
  } catch (error) {
    console.log(`# VM suite skipped for ${tag}: the image could not be built: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
  say(`${tag}: kernel ${image.versions.kernel}, systemd ${image.versions.systemd}, libgpiod ${image.versions.libgpiod}, Node.js ${image.versions.node}`);
  const runDir = join(cacheDir(), 'runs', `${spec.suite}-${spec.arch}-${process.pid}`);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const share = join(runDir, 'share');
  prepareShare(share);
  sharePackages(packages, share);
  const accel = await chooseAccel(image, share, npmCache, runDir);
  const overlay = join(runDir, 'disk.qcow2');
  createOverlay(image, overlay);
  const report: ImageReport = { image, accel, boots: [], metrics: { accel } };
  try {
    for (const phase of phases) {
      const rtcBase = phase.clockBehindDays === undefined ? 'utc' : new Date(Date.now() - phase.clockBehindDays * 86_400_000).toISOString().slice(0, 19);
      say(`${tag}: booting for phase ${phase.name}${phase.clockBehindDays === undefined ? '' : ` with the clock ${phase.clockBehindDays} days behind (${rtcBase})`} (${accel})`);
      const log = follow(join(share, 'out', `${phase.name}.log`), (line) => console.log(`[${spec.suite}/${spec.arch} ${phase.name}] ${line}`));
      const result = await bootPhase(
        {
          image,
          overlay,
          share,
          npmCache,
          phase: phase.name,
          accel,
          console: join(runDir, `${phase.name}.console`),
          timeoutMs: phase.timeoutMs,
          rtcBase,
          ...(values.grep === undefined ? {} : { grep: values.grep }),
          ...(phase.cut === true ? { cutWhen: join('out', 'cut.ready') } : {}),
        },
        () => log.poll(),
      );
      let counts = tapCounts(join(share, 'out', `${phase.name}.tap`));
      if (phase.bench === true) {
        const exit = existsSync(join(share, 'out', 'bench.exit')) ? readFileSync(join(share, 'out', 'bench.exit'), 'utf8').trim() : 'none';
        if (exit !== '0') {
          counts = { pass: 0, fail: 1, skipped: 0 };
          console.log(`not ok - ${tag} benchmark exited ${exit}:\n${consoleTail(join(share, 'out', 'bench.log')).replace(/^/gm, '#   ')}`);
        }
      }
      report.boots.push({ phase: phase.name, result, counts });
      const metricsFile = join(share, 'out', `${phase.name}.metrics.json`);
      if (existsSync(metricsFile)) Object.assign(report.metrics, JSON.parse(readFileSync(metricsFile, 'utf8')) as Record<string, unknown>);
      const bench = join(share, 'out', 'bench-led.json');
      if (existsSync(bench)) {
        const figures = JSON.parse(readFileSync(bench, 'utf8')) as { rows: Record<string, unknown>[] };
        say(`${tag}: LED benchmark (changes reaching the line, CPU of the unit's cgroup):`);
        for (const row of figures.rows) say(`${tag}:   ${JSON.stringify(row)}`);
        report.metrics['benchLed'] = figures.rows;
      }
      const expected = phase.cut === true ? 'cut' : 'poweroff';
      say(`${tag}: phase ${phase.name}: ${result.end} after ${(result.totalMs / 1000).toFixed(0)} s (boot ${result.bootMs === undefined ? 'not reached' : `${(result.bootMs / 1000).toFixed(1)} s`})${counts === undefined ? '' : `, ${counts.pass} passed, ${counts.fail} failed`}`);
      if (result.bootMs === undefined) {
        if (phase === phases[0]) {
          console.log(`# VM suite skipped for ${tag}: the guest did not boot (${result.end}${result.stderr === '' ? '' : `: ${result.stderr.split('\n')[0]}`}); console: ${join(runDir, `${phase.name}.console`)}`);
          console.log(consoleTail(join(runDir, `${phase.name}.console`), 15).replace(/^/gm, '#   '));
          return undefined;
        }
        report.boots[report.boots.length - 1] = { phase: phase.name, result, counts: { pass: 0, fail: 1, skipped: 0 } };
        console.log(`not ok - ${tag} phase ${phase.name}: the guest did not reach the phase (${result.end}); console tail:\n${consoleTail(join(runDir, `${phase.name}.console`)).replace(/^/gm, '#   ')}`);
        break;
      }
      if (result.end !== expected || (counts === undefined && phase.bench !== true)) {
        report.boots[report.boots.length - 1] = { phase: phase.name, result, counts: { pass: counts?.pass ?? 0, fail: (counts?.fail ?? 0) + 1, skipped: counts?.skipped ?? 0 } };
        const why = result.end === expected ? `ended with ${result.end} but wrote no results (did the guest's setup fail?)` : `ended with ${result.end}, expected ${expected}`;
        console.log(`not ok - ${tag} phase ${phase.name} ${why}; console tail:\n${consoleTail(join(runDir, `${phase.name}.console`)).replace(/^/gm, '#   ')}`);
        if (result.end === 'timeout' || result.end === 'died') break;
      }
    }
  } finally {
    writeFileSync(join(runDir, 'report.json'), JSON.stringify({ versions: image.versions, metrics: report.metrics, boots: report.boots }, null, 2));
    if (values.keep) say(`${tag}: kept ${runDir}`);
    else rmSync(runDir, { recursive: true, force: true });
  }
  return report;
}

async function main(): Promise<void> {
  const why = unavailable();
  if (why !== undefined) skip(why);
  const started = Date.now();
  const npmCache = join(cacheDir(), 'npm-cache');
  try {
    fillNpmCache(npmCache, [arch], say);
  } catch (error) {
    skip(`the npm cache for the guests could not be filled: ${(error as Error).message.split('\n')[0]}`);
  }
  let packages: Packages;
  try {
    packages = buildPackages(arch, join(cacheDir(), 'runs', `packages-${process.pid}`), say);
  } catch (error) {
    console.log(`not ok - the packages to install could not be built: ${(error as Error).message}`);
    console.log('vm: 0 passed, 1 failed, 0 skipped');
    process.exitCode = 1;
    return;
  }
  const reports: ImageReport[] = [];
  // Side by side by default: much of a guest's time is waiting (boots, sleep steps, the
  // watchdog), so two guests on two cores finish well before one after the other would.
  const jobs = Math.max(1, Number(values.jobs));
  const queue = [...suites];
  await Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      for (let suite = queue.shift(); suite !== undefined; suite = queue.shift()) {
        const report = await runImage({ suite, arch }, npmCache, packages);
        if (report !== undefined) reports.push(report);
      }
    }),
  );
  const total = { pass: 0, fail: 0, skipped: 0 };
  console.log('# vm: summary');
  for (const r of reports) {
    const c = r.boots.reduce((sum, b) => ({ pass: sum.pass + (b.counts?.pass ?? 0), fail: sum.fail + (b.counts?.fail ?? 0), skipped: sum.skipped + (b.counts?.skipped ?? 0) }), { pass: 0, fail: 0, skipped: 0 });
    total.pass += c.pass;
    total.fail += c.fail;
    total.skipped += c.skipped;
    const boots = r.boots.map((b) => `${b.phase} boot ${b.result.bootMs === undefined ? '-' : (b.result.bootMs / 1000).toFixed(1)} s, whole ${(b.result.totalMs / 1000).toFixed(0)} s`).join('; ');
    const built = r.image.builtInMs === undefined ? 'cached image' : `image built in ${(r.image.builtInMs / 1000).toFixed(0)} s`;
    console.log(`# vm: ${r.image.suite}/${r.image.arch} (${r.accel}, ${built}): ${c.pass} passed, ${c.fail} failed; ${boots}`);
    console.log(`# vm:   kernel ${r.image.versions.kernel}, systemd ${r.image.versions.systemd}, libgpiod ${r.image.versions.libgpiod}, Node.js ${r.image.versions.node}; ${JSON.stringify(r.metrics)}`);
  }
  if (CI && reports.length < suites.length) {
    console.log(`not ok - CI=true: ${suites.length - reports.length} of ${suites.length} images skipped (see "VM suite skipped" above)`);
    total.fail += suites.length - reports.length;
  }
  rmSync(packages.dir, { recursive: true, force: true });
  console.log(`# vm: whole run ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`vm: ${total.pass} passed, ${total.fail} failed, ${total.skipped} skipped`);
  process.exitCode = total.fail > 0 ? 1 : 0;
}

await main();
