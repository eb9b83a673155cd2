/**
 * After the clock phase's checks (guest/boot.sh runs it): the config for the
 * power cut, on disk for good, and a daemon writing a line every 5 ms; then
 * out/cut.ready tells the host to kill QEMU, which is a power cut for the guest.
 */
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CUT_CONFIG } from './configs.js';
import { journal, OUT, poll, restart, sh, show, writeConfig } from './lib.js';

writeConfig(CUT_CONFIG);
sh('sync');
restart();
const pid = show('MainPID');
// Writing steadily: a few hundred lines of this run, in the journal as in the files.
await poll(() => (journal(undefined, [`_PID=${pid}`]).filter((l) => l.endsWith('tick')).length >= 300 ? true : undefined), 120_000, 'the daemon writing', 250);
writeFileSync(`${OUT}/cut.ready`, `${new Date().toISOString()}\n`);
// The host kills the guest within a second or so; this never returns on its own.
await sleep(600_000);
