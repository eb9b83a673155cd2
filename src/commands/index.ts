import type { Command } from './command.js';
import { checkConfig } from './check-config.js';
import { doctor } from './doctor.js';
import { edit } from './edit.js';
import { help, version } from './help.js';
import { printConfig } from './print-config.js';
import { reload } from './reload.js';
import { run } from './run.js';
import { status } from './status.js';

/**
 * Every command, in the order help lists them. A new command is a file in
 * this directory and an entry here: parsing, `--help`, the man page and
 * completion come from its fields.
 */
export const COMMANDS: readonly Command[] = [run, status, edit, reload, checkConfig, printConfig, doctor, help, version];
