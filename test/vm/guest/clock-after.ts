/**
 * After the clock phase's checks (guest/boot.sh runs it): the config for the
 * power cut, on disk for good, and a daemon writing a line every 5 ms; then
 * out/cut.ready tells the host to kill QEMU, which is a power cut for the guest.
 */
import { statSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CUT_CONFIG } from './configs.js';
import { LOG_DIR, OUT, poll, restart, sh, writeConfig } from './lib.js';

writeConfig(CUT_CONFIG);
sh('sync');
restart();
const current = `${LOG_DIR}/current.log`;
const size = (): number => statSync(current).size;
await poll(() => (size() > 0 ? true : undefined), 60_000, 'log lines in the file');
const start = size();
await poll(() => (size() > start + 8192 ? true : undefined), 60_000, 'the log file growing');
writeFileSync(`${OUT}/cut.ready`, `${new Date().toISOString()}\n`);
// The host kills the guest within a second or so; this never returns on its own.
await sleep(600_000);
