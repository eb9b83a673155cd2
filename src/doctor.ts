import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { groupMembers, groupName, uidOf, userName } from './accounts.js';
import { childProcess } from './lazy-builtins.js';
import { othersMayWrite } from './safe-files.js';
import type { CodeCacheState } from './code-cache.js';
import type { Config } from './config/load.js';
import { ConfigError, GpioUnavailableError } from './errors.js';
import { listGpioDevices, pythonVersion } from './led/chardev.js';
import { findHeaderChip, readGpioChips, SYSFS_GPIO, sysfsNumber } from './led/chips.js';
import { GPIO_GROUP_FIX } from './led/permissions.js';
import { loadOnoff, ONOFF_FIX, type OnoffGpioClass } from './led/sysfs.js';
import type { LedChoice } from './led/select.js';

/** One line of the report. */
interface Check {
  readonly ok: boolean;
  /** A failed required check makes `doctor` exit non-zero; the others are warnings. */
  readonly required: boolean;
  readonly text: string;
  readonly fix?: string;
}

/** The outside world, as `doctor` sees it; tests pass their own. */
export interface DoctorProbes {
  readonly nodeVersion: string;
  /** How dist/main.js starts the bundle on this Node; undefined when not run from a build (tests). */
  readonly codeCache?: () => CodeCacheState;
  /** The command that makes the code cache again, for the fix. */
  readonly remakeCodeCache?: string;
  readonly configFile: string;
  readonly loadConfig: () => Config;
  readonly sysfsRoot?: string;
  readonly devDir?: string;
  readonly loadOnoff?: () => OnoffGpioClass | undefined;
  readonly loadSdNotify: () => unknown;
  /** How to install the sd-notify binding (sd-notify.ts's sdNotifyFix for this install). */
  readonly sdNotifyFix: string;
  /** Whether systemd runs this machine (/run/systemd/system exists): then the service needs the binding. */
  readonly systemdRunning?: () => boolean;
  /** python3 --version, or undefined when it does not run. */
  readonly pythonVersion?: () => string | undefined;
  /** What the daemon would pick for the LED: select.ts with a silent logger. */
  readonly chooseLed: (led: Config['settings']['led']) => LedChoice;
  /** The uid, name and group names of the user running doctor. */
  readonly user?: () => { uid: number; name?: string; groups: readonly string[] };
  /** Whether a `gpio` group exists on this system. */
  readonly gpioGroupExists?: () => boolean;
  /**
   * The installed service being described (its config, environment and log
   * directory), or undefined for a checkout. Its log directory is the service
   * user's: a reader needs to read it, not write it.
   */
  readonly service?: { readonly user: string; readonly workingDirectory: string };
  /** Owner and group names of a file, for messages; tests pass their own. */
  readonly names?: (uid: number, gid: number) => { user: string; group: string };
  /** The uid of a user name, or undefined when there is none. */
  readonly uidOf?: (user: string) => number | undefined;
  /** VERSION_CODENAME of /etc/os-release (bookworm, trixie), so that a fix fits the machine. */
  readonly osCodename?: () => string | undefined;
}

const MIN_NODE = 20;

/**
 * `asyncdemo doctor`: what stands between this machine and a working daemon,
 * one line per thing with ✓ or ✗, and for each ✗ the fix.
 */
export function runDoctor(probes: DoctorProbes): Check[] {
  const checks: Check[] = [];
  const major = Number(/^v?(\d+)/.exec(probes.nodeVersion)?.[1]);
  checks.push(
    major >= MIN_NODE
      ? { ok: true, required: true, text: `Node.js ${probes.nodeVersion} (${MIN_NODE} or later needed)` }
      : { ok: false, required: true, text: `Node.js ${probes.nodeVersion} is too old (${MIN_NODE} or later needed)`, fix: 'sudo apt install nodejs (Raspberry Pi OS bookworm and Debian 13 ship 20 or later)' },
  );

  if (probes.codeCache !== undefined) checks.push(codeCacheCheck(probes.codeCache(), probes.remakeCodeCache));

  let config: Config | undefined;
  try {
    config = probes.loadConfig();
    checks.push({ ok: true, required: true, text: `config ${probes.configFile} is valid (${config.tasks.size} task${config.tasks.size === 1 ? '' : 's'})` });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    checks.push(unreadable(error) ? unreadableConfigCheck(probes) : { ok: false, required: true, text: error.message, fix: `edit the file; asyncdemo check-config ${probes.configFile} shows every problem` });
  }

  if (config !== undefined) checks.push(probes.service === undefined ? logDirCheck(config.settings.log.file) : serviceLogDirCheck(config.settings.log.file, probes.service, probes));
  checks.push(systemdCheck(probes));
  checks.push(...gpioChecks(probes, config));
  return checks;
}

/** The report as text, and whether every required check passed. */
export function formatReport(checks: readonly Check[]): { text: string; ok: boolean } {
  const lines = checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.text}${c.ok || c.fix === undefined ? '' : `\n    fix: ${c.fix}`}${!c.ok && !c.required ? '\n    (not required: the daemon runs without it)' : ''}`);
  const failed = checks.filter((c) => !c.ok && c.required).length;
  const warned = checks.filter((c) => !c.ok && !c.required).length;
  const summary = failed > 0 ? `${failed} required check${failed === 1 ? '' : 's'} failed` : warned > 0 ? `ready to run, with ${warned} warning${warned === 1 ? '' : 's'}` : 'ready to run';
  return { text: `${lines.join('\n')}\n${summary}\n`, ok: failed === 0 };
}

function logDirCheck(file: Config['settings']['log']['file']): Check {
  if (!file.enabled) return { ok: true, required: false, text: 'log files are off (log.file.enabled: false): console only' };
  const dir = resolve(file.dir);
  // The daemon creates a missing directory, so a writable ancestor is as good.
  let existing = dir;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  try {
    if (!statSync(existing).isDirectory()) throw new Error(`${existing} is not a directory`);
    accessSync(existing, constants.W_OK);
  } catch {
    return {
      ok: false,
      required: false,
      text: `log directory ${dir} is not writable by this user: the daemon would log to the console only`,
      fix: 'create it and let the service user write to it (the systemd unit does, with LogsDirectory=), or set log.file.dir',
    };
  }
  // Anyone who can write there can plant a link where the next log file goes, or delete the logs.
  // (A directory the daemon creates gets 755 under the usual umask, whatever its parent's mode.)
  const mode = statSync(existing).mode & 0o7777;
  if (existing === dir && othersMayWrite(mode)) {
    return {
      ok: false,
      required: false,
      text: `log directory ${dir} can be written by every user (mode ${mode.toString(8)}): anyone can plant links or delete log files there`,
      fix: `chmod o-w ${dir}`,
    };
  }
  return { ok: true, required: false, text: existing === dir ? `log directory ${dir} is writable` : `log directory ${dir} can be created (in ${existing})` };
}

/** Whether the config could not be read for want of permission: the file may be fine, this user cannot tell. */
function unreadable(error: ConfigError): boolean {
  const code = (error.cause as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

function unreadableConfigCheck(probes: DoctorProbes): Check {
  const { uid } = (probes.user ?? currentUser)();
  return {
    ok: false,
    // Not a verdict on the config, which the service (another user) may well read.
    required: uid === 0,
    text: `cannot read the config ${probes.configFile}: permission denied; run as root or a user in adm`,
    fix: `sudo chmod 0644 ${probes.configFile} (the package installs it readable by all; it holds no secrets), or: sudo asyncdemo doctor`,
  };
}

/**
 * The installed service's log directory: the service user writes it (the unit
 * makes it 2750, asyncdemo:adm); this user only needs to read it.
 */
function serviceLogDirCheck(file: Config['settings']['log']['file'], service: NonNullable<DoctorProbes['service']>, probes: DoctorProbes): Check {
  if (!file.enabled) return { ok: true, required: false, text: 'the service writes no log files (log.file.enabled: false): the journal only' };
  const dir = resolve(service.workingDirectory, file.dir);
  let stats;
  try {
    stats = statSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { ok: false, required: false, text: `the service's log directory ${dir} does not exist yet: the service makes it when it starts`, fix: 'sudo systemctl start asyncdemo' };
    }
    return { ok: false, required: false, text: `the service's log directory ${dir} cannot be looked at by this user (${(error as NodeJS.ErrnoException).code ?? String(error)})`, fix: 'read it as root, or as a user in adm' };
  }
  if (!stats.isDirectory()) return { ok: false, required: false, text: `the service's log directory ${dir} is not a directory: the service logs to the journal only`, fix: `remove it and restart: sudo rm ${dir} && sudo systemctl restart asyncdemo` };
  const names = (probes.names ?? fileOwnerNames)(stats.uid, stats.gid);
  const mode = stats.mode & 0o7777;
  const what = `the service's log directory ${dir} (${names.user}:${names.group}, mode ${mode.toString(8)})`;
  const serviceUid = (probes.uidOf ?? uidOf)(service.user);
  if (serviceUid !== undefined && stats.uid !== serviceUid && !othersMayWrite(mode)) {
    return { ok: false, required: false, text: `${what} is not the service user ${service.user}'s: the service cannot write its log files there`, fix: 'sudo systemctl restart asyncdemo (its ExecStartPre= gives the directory back to the service user)' };
  }
  if (othersMayWrite(mode)) return { ok: false, required: false, text: `${what} can be written by every user: anyone can plant links or delete log files there`, fix: `sudo chmod o-w ${dir}` };
  try {
    accessSync(dir, constants.R_OK | constants.X_OK);
  } catch {
    const user = (probes.user ?? currentUser)();
    return {
      ok: false,
      required: false,
      text: `${what} cannot be read by this user (not root, not in ${names.group})`,
      fix: `read the logs as a user in ${names.group}: sudo usermod -aG ${names.group} ${user.name ?? '$USER'} (then log in again), or with sudo`,
    };
  }
  return { ok: true, required: false, text: `${what}: the service writes it, this user reads it` };
}

function codeCacheCheck(state: CodeCacheState, remake = 'node scripts/build/code-cache.mjs dist'): Check {
  const fix = `make it again with the Node that runs asyncdemo: ${remake} (the package does it at install and when Node.js is upgraded)`;
  switch (state.kind) {
    case 'node':
      return { ok: true, required: false, text: `start-up: Node's own compile cache (module.enableCompileCache) in ${state.directory ?? "Node's default directory"}` };
    case 'accepted':
      return { ok: true, required: false, text: `start-up: the code cache ${state.file} fits this Node` };
    case 'rejected':
      return { ok: false, required: false, text: `start-up: V8 rejects the code cache ${state.file} (made by another Node or with other flags): every start compiles the bundle, about 10 ms slower`, fix };
    case 'missing':
      return { ok: false, required: false, text: `start-up: no code cache (${state.file}): every start compiles the bundle, about 10 ms slower`, fix };
  }
}

function systemdCheck(probes: DoctorProbes): Check {
  const underSystemd = (probes.systemdRunning ?? (() => existsSync('/run/systemd/system')))();
  if (probes.loadSdNotify() !== undefined) return { ok: true, required: underSystemd, text: 'systemd binding (sd-notify) is installed: READY, STATUS and WATCHDOG reach systemd' };
  return {
    ok: false,
    // The unit is Type=notify: without READY=1 the service cannot start, and the daemon exits at once saying so.
    required: underSystemd,
    text: underSystemd
      ? 'systemd binding (sd-notify) is not installed: it is required under systemd, and the service cannot start without it'
      : 'systemd binding (sd-notify) is not installed: it is required to run as a systemd service (this machine does not run systemd)',
    fix: probes.sdNotifyFix,
  };
}

type LedSettings = Config['settings']['led'];

function gpioChecks(probes: DoctorProbes, config: Config | undefined): Check[] {
  const led = config?.settings.led;
  return [...sysfsChecks(probes, led), ...chardevChecks(probes), gpioGroupCheck(probes), ...(led === undefined ? [] : [ledChoiceCheck(probes, led)])];
}

/** The header's controller and the pin's sysfs number, and whether onoff is there to drive it. */
function sysfsChecks(probes: DoctorProbes, led: LedSettings | undefined): Check[] {
  const root = probes.sysfsRoot ?? SYSFS_GPIO;
  if (!existsSync(`${root}/export`)) {
    const codename = (probes.osCodename ?? osCodename)();
    // Raspberry Pi OS trixie builds its kernels without sysfs GPIO: there, its absence is normal.
    if (codename !== undefined && codename !== 'bookworm' && codename !== 'bullseye') {
      return [{ ok: true, required: false, text: `sysfs GPIO: none (${root} is missing, as on ${codename}'s kernels): led.backend auto uses the character device` }];
    }
    return [{ ok: false, required: false, text: `sysfs GPIO: ${root} is missing (not a Raspberry Pi, or a kernel built without it)`, fix: 'nothing to fix for the LED: led.backend auto uses the GPIO character device where there is one (see the checks below)' }];
  }
  const checks: Check[] = [];
  const pin = led?.pin ?? 17;
  const chips = readGpioChips(root);
  const header = findHeaderChip(chips);
  const listed = chips.map((c) => `${c.name} ${c.label} base ${c.base}`).join(', ') || 'no chips';
  if (header !== undefined) {
    let number: string;
    try {
      number = `BCM ${pin} is GPIO ${sysfsNumber(pin, header)}`;
    } catch (error) {
      number = (error as Error).message;
    }
    checks.push({ ok: true, required: false, text: `sysfs GPIO: ${header.label} at base ${header.base}: ${number} (chips: ${listed})` });
  } else if (led?.sysfsBase !== null && led?.sysfsBase !== undefined) {
    checks.push({ ok: true, required: false, text: `sysfs GPIO: led.sysfsBase ${led.sysfsBase}: BCM ${pin} is GPIO ${led.sysfsBase + pin} (chips: ${listed})` });
  } else {
    checks.push({ ok: false, required: false, text: `sysfs GPIO: no Raspberry Pi GPIO controller (chips: ${listed})`, fix: 'set led.sysfsBase to the sysfs number of BCM 0 for this board' });
  }
  const onoff = (probes.loadOnoff ?? loadOnoff)();
  checks.push(
    onoff !== undefined
      ? { ok: true, required: false, text: 'onoff (sysfs GPIO) is installed' }
      : { ok: false, required: false, text: 'onoff (sysfs GPIO) is not installed: its native part did not build', fix: ONOFF_FIX },
  );
  return checks;
}

/** The GPIO character devices, and python3, which runs the character-device LED's helper. */
function chardevChecks(probes: DoctorProbes): Check[] {
  const devDir = probes.devDir ?? '/dev';
  const devices = listGpioDevices(devDir);
  const python = (probes.pythonVersion ?? (() => pythonVersion()))();
  return [
    devices.length === 0
      ? { ok: false, required: false, text: `GPIO character devices: none in ${devDir} (not a Raspberry Pi)`, fix: 'run on a Raspberry Pi, or use led.backend: simulated' }
      : { ok: true, required: false, text: `GPIO character devices: ${devices.map((d) => `${devDir}/${d}`).join(', ')}` },
    python !== undefined
      ? { ok: true, required: false, text: `${python} runs the character-device LED's helper` }
      : { ok: false, required: false, text: 'python3 does not run: the character-device LED backend needs it', fix: 'sudo apt install python3' },
  ];
}

/** Whether the service user (or, for a checkout, this user) may use GPIO through the gpio group. */
function gpioGroupCheck(probes: DoctorProbes): Check {
  const user = (probes.user ?? currentUser)();
  const groupExists = (probes.gpioGroupExists ?? (() => groupMembers('gpio') !== undefined))();
  const service = probes.service;
  if (service !== undefined) {
    // The service's GPIO access is its user's, whoever runs doctor.
    const inGpio = groupMembers('gpio')?.includes(service.user) === true;
    return inGpio
      ? { ok: true, required: false, text: `the service user ${service.user} is in the gpio group` }
      : { ok: false, required: false, text: `the service user ${service.user} is not in the gpio group: GPIO will be refused`, fix: `sudo usermod -aG gpio ${service.user} && sudo systemctl restart asyncdemo (the package does it)` };
  }
  if (user.uid === 0) return { ok: true, required: false, text: 'running as root: GPIO access needs no group (the service runs as asyncdemo, in the gpio group)' };
  if (user.groups.includes('gpio')) return { ok: true, required: false, text: 'this user is in the gpio group' };
  if (!groupExists) return { ok: false, required: false, text: 'there is no gpio group on this system (not Raspberry Pi OS)', fix: 'sudo apt install --reinstall asyncdemo (the package creates it and adds the service user)' };
  return { ok: false, required: false, text: 'this user is not in the gpio group: GPIO will be refused', fix: GPIO_GROUP_FIX };
}

/** The LED the daemon would pick with this config; a configured pin it cannot have fails doctor. */
function ledChoiceCheck(probes: DoctorProbes, led: LedSettings): Check {
  try {
    const choice = led.enabled ? probes.chooseLed(led) : undefined;
    if (choice === undefined) return { ok: true, required: false, text: 'LED: disabled (led.enabled: false)' };
    if (!choice.fellBack) return { ok: true, required: false, text: choice.line };
    return { ok: false, required: false, text: choice.line, fix: 'the fixes are in the line; or set led.backend: simulated when a simulated LED is what you want' };
  } catch (error) {
    if (!(error instanceof GpioUnavailableError)) throw error;
    return { ok: false, required: true, text: error.message, fix: error.fix };
  }
}

function currentUser(): { uid: number; name?: string; groups: readonly string[] } {
  const result = childProcess().spawnSync('id', ['-Gn'], { encoding: 'utf8' });
  const uid = process.getuid?.() ?? -1;
  const name = userName(uid);
  return { uid, ...(name === String(uid) ? {} : { name }), groups: result.status === 0 ? result.stdout.trim().split(/\s+/) : [] };
}

function fileOwnerNames(uid: number, gid: number): { user: string; group: string } {
  return { user: userName(uid), group: groupName(gid) };
}

/** VERSION_CODENAME from /etc/os-release, or undefined. */
function osCodename(): string | undefined {
  try {
    return /^VERSION_CODENAME=(.*)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]?.replaceAll('"', '').trim() || undefined;
  } catch {
    return undefined;
  }
}
