import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Line } from './daemon.js';

/** libfaketime, for a daemon that must see another wall clock (Debian's libfaketime package). */
export const FAKETIME_LIB = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/arm-linux-gnueabihf/faketime/libfaketime.so.1'].find((path) =>
  existsSync(path),
);

/** The environment that shows a process the wall clock `spec` (libfaketime's FAKETIME), its monotonic clock untouched. */
export function fakeTimeEnv(spec: string): Record<string, string> {
  return { LD_PRELOAD: FAKETIME_LIB ?? '', FAKETIME: spec, DONT_FAKE_MONOTONIC: '1', TZ: 'UTC' };
}

/** As {@link fakeTimeEnv}, read from `file` at every call, so a test can move the clock mid-run by rewriting it. */
export function movableFakeTimeEnv(file: string, spec: string): Record<string, string> {
  writeFileSync(file, `${spec}\n`);
  return { LD_PRELOAD: FAKETIME_LIB ?? '', FAKETIME_TIMESTAMP_FILE: file, FAKETIME_NO_CACHE: '1', DONT_FAKE_MONOTONIC: '1', TZ: 'UTC' };
}

export const isRoot = process.getuid?.() === 0;

/** Root on Linux with unshare: a tiny tmpfs can be mounted in a mount namespace of the test's own. */
export const canUnshare = process.platform === 'linux' && isRoot && spawnSync('unshare', ['--mount', 'true']).status === 0;
/** What a test that needs {@link canUnshare} says when it skips. */
export const UNSHARE_NEEDED = 'needs root on Linux with unshare (a private mount namespace for a tiny tmpfs): sudo npm test';

/** The numbered log files in `dir`, in the order they were written. */
export function logFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /^asyncdemo\.\d+\.log$/.test(f))
    .sort((a, b) => fileNumber(a) - fileNumber(b))
    .map((f) => join(dir, f));
}

export function fileNumber(path: string): number {
  return Number(/(\d+)\.log$/.exec(path)?.[1]);
}

/** Every whole line of the log files in `dir`, in order (a line a full disk cut short at a file's end is left out). */
export function logFileLines(dir: string): Line[] {
  return logFiles(dir).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    const whole = text.slice(0, text.lastIndexOf('\n') + 1);
    return whole
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);
  });
}

/** The largest log file in `dir`, in bytes. */
export function largestLogFile(dir: string): number {
  return Math.max(0, ...logFiles(dir).map((f) => statSync(f).size));
}

/** A line as the tests compare them, console against files. */
export function lineKey(l: Line): string {
  return `${l.time} ${String(l['pid'])} ${l.task ?? '-'}[${l.step ?? '-'}] ${l.msg}`;
}

/**
 * The prefix (for startDaemon) that runs the daemon in a mount namespace of
 * its own with a `sizeK` KiB tmpfs on `dir`. A shell stays its parent, passes
 * SIGTERM and SIGINT on, and once it has exited copies the tmpfs's files to
 * `copyTo`, where the test can read them. While it runs, the test reaches the
 * tmpfs through {@link insideNamespace}.
 */
export function tinyDiskPrefix(dir: string, sizeK: number, copyTo: string): string[] {
  const script = [
    `mount -t tmpfs -o size=${sizeK}k tmpfs "$D" || exit 97`,
    '"$@" &',
    'p=$!',
    "trap 'kill -TERM $p' TERM",
    "trap 'kill -INT $p' INT",
    // wait returns early when a trap runs; wait again until the daemon is gone.
    'while :; do wait $p; s=$?; kill -0 $p 2>/dev/null || break; done',
    'cp -a "$D"/. "$OUT"/',
    'exit $s',
  ].join('\n');
  return ['unshare', '--mount', '--propagation', 'private', 'env', `D=${dir}`, `OUT=${copyTo}`, 'sh', '-c', script, 'sh'];
}

/** `path` as a process in another mount namespace (the shell of {@link tinyDiskPrefix}, by pid) sees it. */
export function insideNamespace(pid: number, path: string): string {
  return `/proc/${pid}/root${path}`;
}

/**
 * Runs a daemon as root without root's power over files (no capabilities, so
 * no CAP_DAC_OVERRIDE): mode bits hold for it as for any user, and the
 * checkout stays readable wherever it is (a clone under /root included).
 */
export const WITHOUT_CAPABILITIES = ['setpriv', '--bounding-set=-all', '--inh-caps=-all', '--'];
