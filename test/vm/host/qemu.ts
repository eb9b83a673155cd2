import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, openSync, readFileSync, readSync, closeSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import type { Arch, Image } from './images.js';

export type Accel = 'kvm' | 'tcg';

const QEMU: Record<Arch, string> = { amd64: 'qemu-system-x86_64', arm64: 'qemu-system-aarch64' };

/** Why QEMU cannot run guests of `arch` here, or undefined when it can. */
export function qemuUnavailable(arch: Arch): string | undefined {
  if (spawnSync('sh', ['-c', `command -v ${QEMU[arch]}`]).status !== 0) return `${QEMU[arch]} is not installed (apt install ${arch === 'amd64' ? 'qemu-system-x86' : 'qemu-system-arm'})`;
  if (spawnSync('sh', ['-c', 'command -v qemu-img']).status !== 0) return 'qemu-img is not installed (apt install qemu-utils)';
  return undefined;
}

/** Whether KVM could be tried: a guest of this machine's architecture and a /dev/kvm we may open. */
export function kvmPossible(arch: Arch): boolean {
  const host = process.arch === 'x64' ? 'amd64' : process.arch;
  if (host !== arch) return false;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export interface BootOptions {
  readonly image: Image;
  /** The guest's disk: a qcow2 overlay on the cached image, kept across the phases of a run. */
  readonly overlay: string;
  /** Shared in as `vm`: guest/ (the suite), src/ (the checkout), out/ (results). */
  readonly share: string;
  readonly npmCache: string;
  readonly phase: string;
  readonly accel: Accel;
  /** The serial console, captured. */
  readonly console: string;
  readonly timeoutMs: number;
  /** QEMU's -rtc base: the time the guest's clock starts from ("utc" or an ISO date). */
  readonly rtcBase?: string;
  /** The header chip gpio-sim makes at boot, LABEL:LINES. */
  readonly chip?: string;
  /** Only the checks whose names match (node --test-name-pattern). */
  readonly grep?: string;
  /** A file in the share whose appearance means: cut the power now (kill QEMU). */
  readonly cutWhen?: string;
  readonly memoryMiB?: number;
  readonly cpus?: number;
  /**
   * The guest's ssh port forwarded to 127.0.0.1:sshPort (the fleet test). The
   * guest gets a user-mode NIC restricted to that: it reaches nothing, and
   * nothing reaches it but this forward. Without it the guest has no NIC.
   */
  readonly sshPort?: number;
}

export interface BootResult {
  /** poweroff: the guest shut itself down; cut: killed on purpose; timeout; died: QEMU failed. */
  readonly end: 'poweroff' | 'cut' | 'timeout' | 'died';
  readonly code: number | null;
  /** From QEMU's start to the phase's start in the guest (multi-user.target reached), if it got there. */
  readonly bootMs: number | undefined;
  readonly totalMs: number;
  readonly stderr: string;
}

/** The end of the console capture, for a report. */
export function consoleTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no console output)';
  }
}

/** Follows a growing file, handing each new complete line to `onLine`. */
export function follow(file: string, onLine: (line: string) => void): { poll(): void } {
  let offset = 0;
  let rest = '';
  return {
    poll() {
      if (!existsSync(file)) return;
      const size = statSync(file).size;
      if (size <= offset) return;
      const fd = openSync(file, 'r');
      try {
        const buffer = Buffer.alloc(size - offset);
        readSync(fd, buffer, 0, buffer.length, offset);
        offset = size;
        const lines = (rest + buffer.toString('utf8')).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      } finally {
        closeSync(fd);
      }
    },
  };
}

function qemuArgs(o: BootOptions): string[] {
  const amd64 = o.image.arch === 'amd64';
  const consoleDevice = amd64 ? 'ttyS0' : 'ttyAMA0';
  const append = [
    'root=/dev/vda',
    // Mounted read-only first and checked, as a Pi's root is: the power-cut check relies on it.
    'ro',
    'fsck.repair=yes',
    `console=${consoleDevice}`,
    'panic=-1',
    `asyncdemo.phase=${o.phase}`,
    ...(o.chip === undefined ? [] : [`asyncdemo.chip=${o.chip}`]),
    ...(o.grep === undefined ? [] : [`asyncdemo.grep=${o.grep}`]),
  ].join(' ');
  const accel =
    o.accel === 'kvm'
      ? ['-accel', 'kvm', '-cpu', 'host']
      : // QEMU's own emulation. arm64: a Pi 4's Cortex-A72, not "max" (with max,
        // npm segfaulted in the guest under QEMU 7.2).
        ['-accel', 'tcg,thread=multi', '-cpu', amd64 ? 'max' : 'cortex-a72'];
  return [
    ...(amd64 ? ['-machine', 'q35'] : ['-machine', 'virt']),
    ...accel,
    '-smp', String(o.cpus ?? 2),
    '-m', String(o.memoryMiB ?? 2048),
    '-kernel', o.image.kernel,
    '-initrd', o.image.initrd,
    '-append', append,
    '-drive', `file=${o.overlay},if=virtio,format=qcow2,cache=writeback`,
    '-fsdev', `local,id=vm,path=${o.share},security_model=none`,
    '-device', 'virtio-9p-pci,fsdev=vm,mount_tag=vm',
    '-fsdev', `local,id=npmcache,path=${o.npmCache},security_model=none`,
    '-device', 'virtio-9p-pci,fsdev=npmcache,mount_tag=npmcache',
    ...(o.sshPort === undefined
      ? ['-nic', 'none']
      : ['-nic', `user,model=virtio-net-pci,restrict=on,net=10.0.2.0/24,host=10.0.2.2,hostfwd=tcp:127.0.0.1:${o.sshPort}-10.0.2.15:22`]),
    '-display', 'none',
    '-vga', 'none',
    '-monitor', 'none',
    '-serial', `file:${o.console}`,
    '-rtc', `base=${o.rtcBase ?? 'utc'}`,
    '-no-reboot',
  ];
}

/** QEMU processes still running: a harness that ends (or is killed by a signal) takes its guests with it. */
const guests = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of guests) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    console.log(`# ${signal}: killing ${guests.size} guest${guests.size === 1 ? '' : 's'} and stopping`);
    process.exit(128 + osConstants.signals[signal]);
  });
}

/**
 * Boots the image once, for one phase: the guest runs test/vm/guest/boot.sh
 * phase and powers off. Bounded by `timeoutMs`; with `cutWhen`, QEMU is
 * killed (SIGKILL: the guest's power cut) as soon as that file appears.
 */
export async function bootPhase(o: BootOptions, onTick: () => void = () => {}): Promise<BootResult> {
  const started = Date.now();
  const child = spawn(QEMU[o.image.arch], qemuArgs(o), { stdio: ['ignore', 'ignore', 'pipe'] });
  guests.add(child);
  child.once('exit', () => guests.delete(child));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let exited: { code: number | null } | undefined;
  const done = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      stderr += error.message;
      exited = { code: null };
      resolve();
    });
    child.once('exit', (code) => {
      exited = { code };
      resolve();
    });
  });
  const startedMarker = join(o.share, 'out', `${o.phase}.started`);
  let bootMs: number | undefined;
  let end: BootResult['end'] | undefined;
  while (exited === undefined) {
    // A poll of files the guest writes through the share, with the phase's bound as the deadline.
    await Promise.race([done, sleep(250)]);
    onTick();
    if (bootMs === undefined && existsSync(startedMarker)) bootMs = Date.now() - started;
    if (exited !== undefined) break;
    // A nested KVM that cannot run this kernel stops the guest with an emulation failure and waits.
    if (o.accel === 'kvm' && /KVM internal error|emulation failure/.test(stderr)) {
      child.kill('SIGKILL');
      await done;
      break;
    }
    if (o.cutWhen !== undefined && existsSync(join(o.share, o.cutWhen))) {
      end = 'cut';
      child.kill('SIGKILL');
      await done;
      break;
    }
    if (Date.now() - started > o.timeoutMs) {
      end = 'timeout';
      child.kill('SIGKILL');
      await done;
      break;
    }
  }
  onTick();
  const code = exited?.code ?? null;
  return { end: end ?? (code === 0 ? 'poweroff' : 'died'), code, bootMs, totalMs: Date.now() - started, stderr: stderr.trim() };
}

/** A fresh qcow2 overlay on the cached raw image: the cache stays pristine. */
export function createOverlay(image: Image, overlay: string): void {
  const result = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image.disk, '-F', 'raw', overlay], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`qemu-img create failed: ${result.stderr}`);
}
