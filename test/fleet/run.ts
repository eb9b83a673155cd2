/**
 * The fleet test: the Ansible role (deploy/ansible/) rolling asyncdemo out to
 * three guests of the VM suite (two trixie, one bookworm, amd64), reached over
 * ssh on loopback-forwarded ports, as a fleet of Pis is reached over the
 * network. `npm run test:fleet` (root, QEMU, mmdebstrap for the images,
 * ansible-core and ssh on this machine). Not in `npm test`.
 *
 * Four rollouts, each with what must hold after it:
 *   1. first rollout: the package installed (copy and apt) and running on all three; each host's LED pin
 *      (host vars) is the gpio-sim line that toggles, the others' pins do not;
 *   2. a timing change in group vars: every host reloaded (same MainPID), its
 *      journal says the changed task restarted and the other one was kept;
 *   3. a broken value in group vars: the playbook fails on the first host at
 *      the config's validation, no other host is touched, every host keeps
 *      its config file and the process and config it ran before;
 *   4. the good vars again: changed=0 on every host.
 *
 * Options: --keep (keep the run directory: disks, shares, logs).
 * ASYNCDEMO_VM_ACCEL=kvm uses KVM (default: QEMU's emulation, TCG).
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureImage, type Image, type Suite } from '../vm/host/images.js';
import { cacheDir, REPO } from '../vm/host/paths.js';
import { bootPhase, consoleTail, createOverlay, qemuUnavailable, type Accel, type BootResult } from '../vm/host/qemu.js';
import { buildPackages } from '../vm/host/packages.js';
import { fillNpmCache, prepareShare } from '../vm/host/share.js';

const { values } = parseArgs({ options: { keep: { type: 'boolean', default: false } } });

const say = (line: string): void => console.log(`# fleet: ${line}`);
let failures = 0;
function check(name: string, ok: boolean, detail = ''): void {
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${ok || detail === '' ? '' : `\n${detail.replace(/^/gm, '#   ')}`}`);
  if (!ok) failures++;
}

interface Host {
  readonly name: string;
  readonly suite: Suite;
  /** Its LED's BCM pin: host vars. */
  readonly pin: number;
  port: number;
  runDir: string;
  share: string;
  boot?: Promise<BootResult>;
}

const HOSTS: Host[] = [
  { name: 'trixie-a', suite: 'trixie', pin: 17, port: 0, runDir: '', share: '' },
  { name: 'trixie-b', suite: 'trixie', pin: 22, port: 0, runDir: '', share: '' },
  { name: 'bookworm-a', suite: 'bookworm', pin: 27, port: 0, runDir: '', share: '' },
];
const CONFIG = '/etc/asyncdemo/config.yaml';
/** Bounds: a guest's boot to sshd, one rollout (the first installs under emulation), one ssh command. */
const BOOT_MS = 20 * 60_000;
const ROLLOUT_MS = 90 * 60_000;
const SSH_MS = 60_000;

function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (mmdebstrap, the image cache)';
  const qemu = qemuUnavailable('amd64');
  if (qemu !== undefined) return qemu;
  for (const [tool, pkg] of [['mmdebstrap', 'mmdebstrap'], ['ansible-playbook', 'ansible-core'], ['ssh', 'openssh-client'], ['ssh-keygen', 'openssh-client']] as const) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt install ${pkg})`;
  }
  return undefined;
}

/** A free TCP port on 127.0.0.1 for a guest's ssh forward. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port from the kernel');
  return address.port;
}

/** Whether `promise` settles within `ms` (the timer is cleared either way: nothing keeps the process alive). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// --- ssh into a guest -------------------------------------------------------

let sshKey = '';
const SSH_OPTIONS = ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=20'];

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function ssh(host: Host, script: string, timeoutMs = SSH_MS): Result {
  const r = spawnSync('ssh', [...SSH_OPTIONS, '-i', sshKey, '-p', String(host.port), 'root@127.0.0.1', script], { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error === undefined ? '' : r.error.message}` };
}

function sshOk(host: Host, script: string, timeoutMs?: number): string {
  const r = ssh(host, script, timeoutMs);
  if (r.code !== 0) throw new Error(`${host.name}: ${script} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** What `asyncdemo status --json` says on the host (issue 14's command). */
interface Status {
  readonly pid: number;
  readonly state: string;
  readonly configFile: string;
  readonly configLoadedAt: number;
  readonly led: { readonly backend: string; readonly pin: number | null };
}

function status(host: Host): Status {
  return JSON.parse(sshOk(host, 'asyncdemo status --json')) as Status;
}

function mainPid(host: Host): string {
  return sshOk(host, 'systemctl show asyncdemo -p MainPID --value').trim();
}

function configSha(host: Host): string {
  return sshOk(host, `sha256sum ${CONFIG}`).split(' ')[0] ?? '';
}

function journalCursor(host: Host): string {
  const out = sshOk(host, 'journalctl -u asyncdemo -n 0 --show-cursor --no-pager');
  const cursor = /-- cursor: (.+)/.exec(out)?.[1];
  if (cursor === undefined) throw new Error(`${host.name}: no journal cursor in: ${out}`);
  return cursor;
}

function journalSince(host: Host, cursor: string): string[] {
  return sshOk(host, `journalctl -u asyncdemo --no-pager -o short-iso --after-cursor='${cursor}'`).split('\n').filter((l) => l !== '');
}

/**
 * Samples the gpio-sim lines of `pins` on the host's simulated chip every
 * 50 ms for up to `ms` (or until the first pin was seen both 0 and 1): the
 * values each pin was seen at.
 */
function sampleLines(host: Host, pins: readonly number[], ms = 15_000): Map<number, Set<string>> {
  const script = `set -eu
c=/sys/kernel/config/gpio-sim/pi
base=/sys/devices/platform/$(cat $c/dev_name)/$(cat $c/bank0/chip_name)
end=$(( $(date +%s) + ${Math.ceil(ms / 1000)} ))
while [ "$(date +%s)" -lt "$end" ]; do
  line=""
  for p in ${pins.join(' ')}; do line="$line $p=$(cat $base/sim_gpio$p/value)"; done
  echo "$line"
  case "$line" in *" ${pins[0]}=0"*) seen0=1 ;; *) seen1=1 ;; esac
  [ -n "\${seen0:-}" ] && [ -n "\${seen1:-}" ] && break
  sleep 0.05
done`;
  const seen = new Map<number, Set<string>>(pins.map((p) => [p, new Set<string>()]));
  for (const line of sshOk(host, script, ms + SSH_MS).split('\n')) {
    for (const [, pin, value] of line.matchAll(/(\d+)=(\d)/g)) seen.get(Number(pin))?.add(value ?? '');
  }
  return seen;
}

// --- ansible-playbook -------------------------------------------------------

const ANSIBLE = join(REPO, 'deploy', 'ansible');

interface Rollout {
  readonly code: number | null;
  readonly output: string;
  readonly ms: number;
  /** PLAY RECAP per host: ok, changed, failed, … */
  readonly recap: Map<string, Record<string, number>>;
}

async function rollout(label: string, inventoryDir: string, packageDir: string, logDir: string): Promise<Rollout> {
  say(`rollout ${label}: ansible-playbook deploy/ansible/playbook.yml`);
  const started = Date.now();
  const log = createWriteStream(join(logDir, `rollout-${label}.log`));
  const child = spawn('ansible-playbook', ['-i', join(inventoryDir, 'hosts.ini'), join(ANSIBLE, 'playbook.yml'), '-e', `asyncdemo_package_dir=${packageDir}`], {
    cwd: ANSIBLE,
    env: { ...process.env, ANSIBLE_CONFIG: join(ANSIBLE, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0', ANSIBLE_HOST_KEY_CHECKING: 'False' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const take = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    output += text;
    log.write(text);
    for (const line of text.split('\n')) if (/^(TASK|RUNNING HANDLER|PLAY RECAP|changed|fatal|failed|ok: \[.*\] =>|\S+\s+: ok=)/.test(line)) console.log(`[${label}] ${line}`);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const timer = setTimeout(() => child.kill('SIGKILL'), ROLLOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  log.end();
  const recap = new Map<string, Record<string, number>>();
  for (const [, host, counts] of output.matchAll(/^(\S+)\s+:\s+(ok=.*)$/gm)) {
    recap.set(host ?? '', Object.fromEntries([...(counts ?? '').matchAll(/(\w+)=(\d+)/g)].map(([, k, v]) => [k ?? '', Number(v)])));
  }
  const ms = Date.now() - started;
  say(`rollout ${label}: exit ${code} after ${(ms / 1000).toFixed(0)} s; recap ${JSON.stringify(Object.fromEntries(recap))}`);
  return { code, output, ms, recap };
}

/** The test's inventory: the three guests on their forwarded ports, with group and host vars. */
function writeInventory(dir: string, blinkSleep: string): void {
  mkdirSync(join(dir, 'group_vars'), { recursive: true });
  mkdirSync(join(dir, 'host_vars'), { recursive: true });
  writeFileSync(
    join(dir, 'hosts.ini'),
    [
      '[asyncdemo]',
      ...HOSTS.map((h) => `${h.name} ansible_host=127.0.0.1 ansible_port=${h.port}`),
      '',
      '[asyncdemo:vars]',
      'ansible_user=root',
      `ansible_ssh_private_key_file=${sshKey}`,
      `ansible_ssh_common_args='${SSH_OPTIONS.join(' ')}'`,
      '',
    ].join('\n'),
  );
  // JSON is YAML: the group's timing and tasks, and a check bounded for emulated guests.
  writeFileSync(
    join(dir, 'group_vars', 'asyncdemo.yml'),
    JSON.stringify({
      asyncdemo_led_backend: 'auto',
      asyncdemo_verify_retries: 60,
      asyncdemo_verify_delay: 5,
      asyncdemo_tasks: {
        blinker: { autostart: true, repeat: 'forever', steps: [{ sleep: blinkSleep }] },
        heartbeat: { autostart: true, repeat: 'forever', led: 'none', steps: [{ sleep: '10s' }, { log: 'still here' }] },
      },
    }, null, 2),
  );
  for (const h of HOSTS) writeFileSync(join(dir, 'host_vars', `${h.name}.yml`), JSON.stringify({ asyncdemo_led_pin: h.pin }));
}

// --- the guests -------------------------------------------------------------

async function bootGuest(host: Host, image: Image, npmCache: string, accel: Accel, runRoot: string): Promise<void> {
  host.runDir = join(runRoot, host.name);
  host.share = join(host.runDir, 'share');
  host.port = await freePort();
  mkdirSync(host.runDir, { recursive: true });
  prepareShare(host.share);
  mkdirSync(join(host.share, 'fleet'));
  copyFileSync(`${sshKey}.pub`, join(host.share, 'fleet', 'authorized_keys'));
  const overlay = join(host.runDir, 'disk.qcow2');
  createOverlay(image, overlay);
  say(`${host.name}: booting ${image.suite} (${accel}), ssh on 127.0.0.1:${host.port}`);
  host.boot = bootPhase({
    image,
    overlay,
    share: host.share,
    npmCache,
    phase: 'fleet',
    accel,
    console: join(host.runDir, 'console.log'),
    timeoutMs: BOOT_MS + 4 * ROLLOUT_MS,
    sshPort: host.port,
    // The power cut of the VM suite, used here only when a guest does not power off once told to.
    cutWhen: join('out', 'fleet.kill'),
    cpus: 1,
    memoryMiB: 1536,
  });
}

async function waitForSsh(host: Host): Promise<void> {
  const until = Date.now() + BOOT_MS;
  while (Date.now() < until) {
    if (existsSync(join(host.share, 'out', 'fleet.ready')) && ssh(host, 'true').code === 0) return;
    // A guest whose QEMU ended will not answer: stop waiting.
    if (host.boot !== undefined && (await settlesWithin(host.boot, 2000))) break;
  }
  throw new Error(`${host.name}: no ssh within ${BOOT_MS / 60_000} min; console tail:\n${consoleTail(join(host.runDir, 'console.log'))}`);
}

// --- the checks -------------------------------------------------------------

function recapOk(r: Rollout, what: string, expect: (counts: Record<string, number>) => boolean): void {
  for (const h of HOSTS) {
    const counts = r.recap.get(h.name);
    check(`${what}: ${h.name} ${JSON.stringify(counts)}`, counts !== undefined && expect(counts), r.output.split('\n').slice(-40).join('\n'));
  }
}

async function main(): Promise<void> {
  const why = unavailable();
  if (why !== undefined) {
    // As test/helpers/requirements.ts: a failure under CI=true, which installs what the fleet test needs.
    const ci = process.env['CI'] === 'true';
    console.log(`# fleet test skipped: ${why}${ci ? ' (a failure under CI=true)' : ''}`);
    if (ci) process.exitCode = 1;
    return;
  }
  const started = Date.now();
  const runRoot = join(cacheDir(), 'runs', `fleet-${process.pid}`);
  rmSync(runRoot, { recursive: true, force: true });
  mkdirSync(runRoot, { recursive: true });
  const accel: Accel = process.env['ASYNCDEMO_VM_ACCEL'] === 'kvm' ? 'kvm' : 'tcg';
  try {
    const npmCache = join(cacheDir(), 'npm-cache');
    fillNpmCache(npmCache, ['amd64'], say);
    const images = new Map<Suite, Image>();
    for (const suite of ['trixie', 'bookworm'] as const) images.set(suite, await ensureImage({ suite, arch: 'amd64' }, cacheDir(), (l) => say(`${suite}: ${l}`)));
    sshKey = join(runRoot, 'id_ed25519');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'asyncdemo-fleet-test', '-f', sshKey], { stdio: 'ignore' });
    // npm run package, as the role's README says: the directory holds one package per architecture.
    const release = buildPackages('amd64', join(runRoot, 'deb'), say, join(runRoot, 'deb-older')).dir;
    for (const h of HOSTS) await bootGuest(h, images.get(h.suite) as Image, npmCache, accel, runRoot);
    await Promise.all(HOSTS.map((h) => waitForSsh(h)));
    say(`all three answer ssh after ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const inventory = join(runRoot, 'inventory');

    // 1. The first rollout.
    writeInventory(inventory, '250ms');
    const first = await rollout('first', inventory, release, runRoot);
    check('first rollout: ansible-playbook exits 0', first.code === 0, first.output.split('\n').slice(-40).join('\n'));
    recapOk(first, 'first rollout installs and configures', (c) => (c['changed'] ?? 0) > 0 && c['failed'] === 0 && c['unreachable'] === 0);
    for (const h of HOSTS) {
      const s = status(h);
      check(`${h.name}: the service runs ${CONFIG} with the LED on BCM ${h.pin} (asyncdemo status: ${s.state}, pid ${s.pid}, led ${JSON.stringify(s.led)})`, s.state === 'running' && s.configFile === CONFIG && s.led.pin === h.pin);
      const others = HOSTS.filter((o) => o.pin !== h.pin).map((o) => o.pin);
      const seen = sampleLines(h, [h.pin, ...others]);
      const own = [...(seen.get(h.pin) ?? [])].sort().join(',');
      check(`${h.name}: its own pin's gpio-sim line ${h.pin} toggles (seen ${own})`, own === '0,1');
      for (const o of others) check(`${h.name}: the other hosts' pin ${o} stays still (seen ${[...(seen.get(o) ?? [])].join(',')})`, (seen.get(o)?.size ?? 0) === 1);
    }

    // 2. A timing change in group vars reaches every host by reload.
    const before = new Map(HOSTS.map((h) => [h.name, { pid: mainPid(h), cursor: journalCursor(h) }]));
    writeInventory(inventory, '400ms');
    const timing = await rollout('timing', inventory, release, runRoot);
    check('timing change: ansible-playbook exits 0', timing.code === 0, timing.output.split('\n').slice(-40).join('\n'));
    recapOk(timing, 'timing change rolls out', (c) => (c['changed'] ?? 0) > 0 && c['failed'] === 0);
    const reloads = timing.output.match(/RUNNING HANDLER \[asyncdemo : Reload asyncdemo\]/g)?.length ?? 0;
    check(`timing change: the reload handler ran once per host (${reloads}), the restart handler never`, reloads === HOSTS.length && !/RUNNING HANDLER \[asyncdemo : Restart asyncdemo\]/.test(timing.output));
    for (const h of HOSTS) {
      const b = before.get(h.name);
      const pid = mainPid(h);
      check(`${h.name}: reloaded, not restarted (MainPID ${b?.pid} -> ${pid})`, pid === b?.pid && pid !== '0');
      const lines = journalSince(h, b?.cursor ?? '');
      const reloaded = lines.find((l) => /reloaded \/etc\/asyncdemo\/config\.yaml/.test(l));
      check(`${h.name}: journal: blinker restarted, heartbeat kept: ${reloaded ?? '(no reload line)'}`, reloaded !== undefined && /kept heartbeat; restarted blinker;/.test(reloaded), lines.join('\n'));
    }

    // 3. A broken value stops the rollout at the first host; nobody's config changes.
    const good = new Map(HOSTS.map((h) => [h.name, { sha: configSha(h), pid: mainPid(h), loadedAt: status(h).configLoadedAt }]));
    writeInventory(inventory, 'soon');
    const broken = await rollout('broken', inventory, release, runRoot);
    const [firstHost, ...rest] = HOSTS;
    check('broken value: ansible-playbook fails', broken.code !== 0 && broken.code !== null);
    check(`broken value: ${firstHost?.name} fails at "Render the config" (the validation)`, new RegExp(`TASK \\[asyncdemo : Render the config\\][^]*?fatal: \\[${firstHost?.name}\\]`).test(broken.output), broken.output.split('\n').slice(-40).join('\n'));
    for (const h of rest) check(`broken value: ${h.name} is not touched (no task ran on it)`, !broken.output.includes(`[${h.name}]`));
    for (const h of HOSTS) {
      const g = good.get(h.name);
      const s = status(h);
      check(`${h.name}: keeps its config file and runs it (sha256, MainPID, configLoadedAt unchanged; state ${s.state})`, configSha(h) === g?.sha && mainPid(h) === g.pid && s.configLoadedAt === g.loadedAt && s.state === 'running');
    }

    // 4. The good vars again: nothing to do.
    writeInventory(inventory, '400ms');
    const again = await rollout('again', inventory, release, runRoot);
    check('second run: ansible-playbook exits 0', again.code === 0, again.output.split('\n').slice(-40).join('\n'));
    recapOk(again, 'second run changes nothing', (c) => c['changed'] === 0 && c['failed'] === 0);

    say('the rollout in each host\'s journal (starts, reloads, refusals):');
    for (const h of HOSTS) {
      for (const line of sshOk(h, "journalctl -u asyncdemo --no-pager -o short-iso -g 'ready|reloaded|refused|Started|Reloaded|Stopped' | tail -n 12").split('\n').filter((l) => l !== '')) console.log(`# fleet: ${h.name}: ${line}`);
    }
    say(`rollout times: first ${(first.ms / 1000).toFixed(0)} s, timing ${(timing.ms / 1000).toFixed(0)} s, broken ${(broken.ms / 1000).toFixed(0)} s, again ${(again.ms / 1000).toFixed(0)} s`);
  } catch (error) {
    check(`the fleet test ran to its end`, false, (error as Error).stack ?? String(error));
  } finally {
    for (const h of HOSTS) if (h.share !== '') writeFileSync(join(h.share, 'out', 'fleet.stop'), '');
    for (const h of HOSTS) {
      if (h.boot === undefined) continue;
      // Told to stop, a guest powers off within seconds; after 5 minutes it is cut.
      if (!(await settlesWithin(h.boot, 5 * 60_000))) writeFileSync(join(h.share, 'out', 'fleet.kill'), '');
      const result = await h.boot;
      say(`${h.name}: guest ${result.end} after ${(result.totalMs / 1000).toFixed(0)} s (boot ${result.bootMs === undefined ? '-' : (result.bootMs / 1000).toFixed(0)} s)`);
    }
    if (values.keep) say(`kept ${runRoot}`);
    else rmSync(runRoot, { recursive: true, force: true });
  }
  say(`whole run ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`fleet: ${failures === 0 ? 'pass' : `${failures} failed`}`);
  process.exitCode = failures === 0 ? 0 : 1;
}

await main();
