import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './daemon.js';

/** A config file with `yaml`, in a fresh temporary directory (`prefix` names it). */
export function configFile(yaml: string, prefix?: string): string {
  const file = join(tempDir(prefix), 'config.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** A config file with `yaml`, in a directory of its own that every user can read (for a daemon run as nobody). */
export function readableConfig(yaml: string): string {
  const dir = tempDir('asyncdemo-config-');
  spawnSync('chmod', ['755', dir]);
  const file = join(dir, 'config.yaml');
  writeFileSync(file, yaml, { mode: 0o644 });
  return file;
}

/**
 * Two tasks at boot: `ticker` logs "tick" every 50 ms forever; `sleeper` logs
 * "going to sleep" and sleeps an hour (its "never" is the line a stop must
 * keep from being written). A daemon on it always has a task mid-sleep to
 * cancel and one that keeps the loop busy.
 */
export const TICKER_AND_SLEEPER = `
tasks:
  ticker:
    autostart: true
    repeat: forever
    steps: [{log: tick}, {sleep: 50ms}]
  sleeper:
    autostart: true
    steps: [{log: going to sleep}, {sleep: 1h}, {log: never}]
`;
