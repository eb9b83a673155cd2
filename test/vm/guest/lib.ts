/**
 * What the guest checks share: commands, systemd and the journal, the
 * simulated GPIO chip, the kernel's GPIO trace. Runs in the guest as root,
 * on the guest's Node.js (20 or later), from the share (/mnt/vm/guest).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const SHARE = '/mnt/vm';
export const OUT = `${SHARE}/out`;
/** Where the package puts the app, and its command. */
export const APP = '/usr/lib/asyncdemo';
export const COMMAND = '/usr/bin/asyncdemo';
export const UNIT_FILE = '/lib/systemd/system/asyncdemo.service';
export const CONFIG = '/etc/asyncdemo/config.yaml';
export const DROP_IN = '/etc/systemd/system/asyncdemo.service.d/vm-test.conf';
export const LOG_DIR = '/var/log/asyncdemo';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(command: readonly string[], { timeoutMs = 120_000, input, env }: { timeoutMs?: number; input?: string; env?: Record<string, string> } = {}): Result {
  const [file, ...args] = command;
  const result = spawnSync(file as string, args, {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 2 ** 20,
    env: { PATH, LANG: 'C.UTF-8', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0', HOME: '/root', ...env },
    ...(input === undefined ? {} : { input }),
  });
  if (result.error !== undefined) throw new Error(`${command.join(' ')}: ${result.error.message}`);
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a command that must succeed; its stdout. */
export function ok(command: readonly string[], timeoutMs?: number): string {
  const result = run(command, timeoutMs === undefined ? {} : { timeoutMs });
  if (result.code !== 0) throw new Error(`${command.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

export function sh(script: string, timeoutMs?: number): string {
  return ok(['sh', '-c', script], timeoutMs);
}

/** Waits for `probe` to return something, checking every `everyMs`, at most `timeoutMs`. */
export async function poll<T>(probe: () => T | undefined, timeoutMs: number, what: string, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

// --- systemd and the journal ---------------------------------------------

export function show(property: string): string {
  return ok(['systemctl', 'show', 'asyncdemo', '-p', property, '--value']).trim();
}

/** A journal position: what the unit logs from now on is read with `since`. */
export function journalCursor(): string {
  const out = ok(['journalctl', '-u', 'asyncdemo', '-n', '0', '--show-cursor', '--no-pager']);
  const cursor = /-- cursor: (.+)/.exec(out)?.[1];
  if (cursor === undefined) throw new Error(`no journal cursor in: ${out}`);
  return cursor;
}

/** The unit's journal messages (no prefix), after `cursor` when given. */
export function journal(cursor?: string, args: readonly string[] = []): string[] {
  return ok(['journalctl', '-u', 'asyncdemo', '--no-pager', '-o', 'cat', ...(cursor === undefined ? [] : [`--after-cursor=${cursor}`]), ...args])
    .split('\n')
    .filter((l) => l !== '');
}

/** Waits for a journal message of the unit (after `cursor`) that matches. */
export function journalLine(cursor: string, match: RegExp, timeoutMs = 30_000): Promise<string> {
  return poll(() => journal(cursor).find((l) => match.test(l)), timeoutMs, `journal line matching ${match}`, 250);
}

export function writeConfig(text: string): void {
  writeFileSync(CONFIG, text);
  ok(['chown', 'root:asyncdemo', CONFIG]);
  ok(['chmod', '0640', CONFIG]);
}

export function writeDropIn(text: string | undefined): void {
  if (text === undefined) {
    rmSync(DROP_IN, { force: true });
  } else {
    mkdirSync(dirname(DROP_IN), { recursive: true });
    writeFileSync(DROP_IN, text);
  }
  ok(['systemctl', 'daemon-reload']);
}

/** Restarts the service (returns at READY=1) and checks that it is active. */
export function restart(): void {
  ok(['systemctl', 'reset-failed', 'asyncdemo']);
  ok(['systemctl', 'restart', 'asyncdemo'], 60_000);
  const state = show('ActiveState');
  if (state !== 'active') throw new Error(`asyncdemo is ${state} after a restart:\n${journal(undefined, ['-n', '30']).join('\n')}`);
}

export function stop(): void {
  ok(['systemctl', 'stop', 'asyncdemo'], 60_000);
}

/** The packages the host built for this run (test/vm/host/packages.ts): this checkout's and the previous release. */
export interface Packages {
  readonly current: string;
  readonly older: string;
  readonly version: string;
  readonly olderVersion: string;
}

export function packages(): Packages {
  const listed = JSON.parse(readFileSync(`${SHARE}/deb/packages.json`, 'utf8')) as Packages;
  return { ...listed, current: `${SHARE}/deb/${listed.current}`, older: `${SHARE}/deb/${listed.older}` };
}

/**
 * apt-get as an unattended upgrade runs it: no terminal, no questions, an
 * edited conffile kept (--force-confdef --force-confold), the output to the
 * share as it comes. Its result and time.
 */
export function apt(args: readonly string[], log: string, timeoutMs = 20 * 60_000): { result: Result; ms: number } {
  const started = Date.now();
  const command = ['apt-get', '-y', '-q', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', ...args].map((a) => `'${a}'`).join(' ');
  const result = run(['bash', '-o', 'pipefail', '-c', `DEBIAN_FRONTEND=noninteractive ${command} </dev/null 2>&1 | tee -a ${OUT}/${log}`], { timeoutMs });
  return { result, ms: Date.now() - started };
}

// --- the simulated GPIO chip ---------------------------------------------

const CONFIGFS = '/sys/kernel/config/gpio-sim';

export interface SimChip {
  /** Its configfs name. */
  readonly name: string;
  /** The platform device: gpio-sim.0. */
  readonly device: string;
  /** The character device's name: gpiochip0. */
  readonly chip: string;
  readonly label: string;
  readonly lines: number;
  /** Its sysfs GPIO number base, when the kernel has sysfs GPIO. */
  readonly base: number | undefined;
}

const read = (path: string): string => readFileSync(path, 'utf8').trim();

export function simChips(): SimChip[] {
  if (!existsSync(CONFIGFS)) return [];
  return readdirSync(CONFIGFS).flatMap((name) => {
    const dir = `${CONFIGFS}/${name}`;
    if (read(`${dir}/live`) !== '1') return [];
    const device = read(`${dir}/dev_name`);
    const chip = read(`${dir}/bank0/chip_name`);
    const label = read(`${dir}/bank0/label`);
    // sysfs GPIO names a chip by its base; the label says which one is ours.
    const legacy = existsSync('/sys/class/gpio') ? readdirSync('/sys/class/gpio').find((n) => n.startsWith('gpiochip') && read(`/sys/class/gpio/${n}/label`) === label) : undefined;
    return [{ name, device, chip, label, lines: Number(read(`${dir}/bank0/num_lines`)), base: legacy === undefined ? undefined : Number(legacy.slice('gpiochip'.length)) }];
  });
}

export function simChip(label: string): SimChip {
  const chip = simChips().find((c) => c.label === label);
  if (chip === undefined) throw new Error(`no simulated chip labelled ${label}: ${JSON.stringify(simChips())}`);
  return chip;
}

/** Makes (or remakes) the simulated chip NAME with LABEL:LINES, as guest/gpio-sim.sh does at boot. */
export function createSimChip(name: string, spec: string): SimChip {
  sh(`sh ${SHARE}/guest/gpio-sim.sh remove ${name}; sh ${SHARE}/guest/gpio-sim.sh create ${name} ${spec}`);
  return simChip(spec.slice(0, spec.lastIndexOf(':')));
}

export function removeSimChip(name: string): void {
  sh(`sh ${SHARE}/guest/gpio-sim.sh remove ${name}`);
}

function lineDir(chip: SimChip, offset: number): string {
  return `/sys/devices/platform/${chip.device}/${chip.chip}/sim_gpio${offset}`;
}

/** What the line is driven to now (gpio-sim's sim_gpioN/value): 0 or 1. */
export function lineValue(chip: SimChip, offset: number): number {
  return Number(read(`${lineDir(chip, offset)}/value`));
}

/** Where a line goes when nothing drives it (gpio-sim returns a released line to its pull). */
export function setPull(chip: SimChip, offset: number, pull: 'pull-up' | 'pull-down'): void {
  writeFileSync(`${lineDir(chip, offset)}/pull`, pull);
}

/** Samples a line every few milliseconds and keeps each change, as an LED on it would show it. */
export class LineSampler {
  readonly changes: { at: number; value: number }[] = [];
  #last: number | undefined;
  #timer: NodeJS.Timeout;

  constructor(
    readonly chip: SimChip,
    readonly offset: number,
    everyMs = 5,
  ) {
    this.#timer = setInterval(() => this.sample(), everyMs);
    this.sample();
  }

  sample(): void {
    const value = lineValue(this.chip, this.offset);
    if (value !== this.#last) this.changes.push({ at: Date.now(), value });
    this.#last = value;
  }

  /** Changes after the first sample. */
  get transitions(): number {
    return Math.max(0, this.changes.length - 1);
  }

  waitForTransitions(count: number, timeoutMs: number): Promise<number> {
    return poll(() => (this.transitions >= count ? this.transitions : undefined), timeoutMs, `${count} changes of line ${this.offset} of ${this.chip.label} (saw ${this.transitions}: ${JSON.stringify(this.changes.slice(-5))})`, 50);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

// --- the kernel's GPIO trace ---------------------------------------------

const TRACING = '/sys/kernel/tracing';

export interface GpioEvent {
  readonly comm: string;
  readonly pid: number;
  readonly at: number;
  readonly kind: 'value' | 'direction';
  readonly gpio: number;
  /** value: "set" or "get"; direction: "in" or "out". */
  readonly op: string;
  /** value: the level; direction: the error code (0). */
  readonly value: number;
}

/**
 * Every value a consumer sets on a GPIO line and every direction change, as
 * gpiolib's tracepoints (gpio:gpio_value, gpio:gpio_direction) record them:
 * nothing is missed, whatever the sampling rate. A line that gpio-sim
 * returns to its pull on release does not appear: only what was driven does.
 * GPIO numbers are the global ones (the sysfs base plus the offset).
 */
export class GpioTrace {
  start(): void {
    writeFileSync(`${TRACING}/buffer_size_kb`, '4096');
    writeFileSync(`${TRACING}/events/gpio/gpio_value/enable`, '1');
    writeFileSync(`${TRACING}/events/gpio/gpio_direction/enable`, '1');
    this.clear();
    writeFileSync(`${TRACING}/tracing_on`, '1');
  }

  clear(): void {
    writeFileSync(`${TRACING}/trace`, '');
  }

  events(gpio?: number): GpioEvent[] {
    return read(`${TRACING}/trace`)
      .split('\n')
      .flatMap((line) => {
        const m = /^\s*(.+)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): gpio_(value|direction): (\d+)\s+(set|get|in|out) \(?(-?\d+)\)?/.exec(line);
        if (m === null) return [];
        const event: GpioEvent = { comm: (m[1] as string).trim(), pid: Number(m[2]), at: Number(m[3]), kind: m[4] as GpioEvent['kind'], gpio: Number(m[5]), op: m[6] as string, value: Number(m[7]) };
        return gpio === undefined || event.gpio === gpio ? [event] : [];
      });
  }

  /** The values set on `gpio`, in order. */
  sets(gpio: number): GpioEvent[] {
    return this.events(gpio).filter((e) => e.kind === 'value' && e.op === 'set');
  }
}

// --- reporting -------------------------------------------------------------

const metrics: Record<string, unknown> = {};

/** A figure for the host's summary (times, the exposure, throughput): never a pass/fail. */
export function metric(name: string, value: unknown): void {
  metrics[name] = value;
}

export function writeMetrics(phase: string): void {
  writeFileSync(`${OUT}/${phase}.metrics.json`, JSON.stringify(metrics, null, 2));
}
