/**
 * The process's entry point: reads the command line, finds the command in
 * the table (src/commands/), runs it with what every command shares (the
 * environment, the time, where the app is), and exits with its code. The
 * only place that exits the process. scripts/build/main.cjs calls `main`
 * with the signals it has held since the process's first line of JavaScript.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildInfo } from './build-info.js';
import { parseCommandLine } from './cli.js';
import type { App, Context, EarlySignals } from './commands/command.js';
import { commandHelp, globalHelp } from './commands/help.js';
import { COMMANDS } from './commands/index.js';
import { complain, output, writeOut } from './commands/output.js';
import { UsageError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { sdNotifyFix, sdNotifyPackageFix } from './systemd/sd-notify.js';
import { systemTime } from './time.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Exit codes a shell gives for a process ended by these signals, for a command asked to end before it began. */
const SIGNAL_EXIT: Readonly<Partial<Record<NodeJS.Signals, number>>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

export async function main(argv: readonly string[], env: Env, early: EarlySignals): Promise<never> {
  let code: number;
  try {
    code = await dispatch(argv, env, early);
  } catch (error) {
    // A bug, not a user's mistake: the one place a stack trace is right.
    writeOut(2, `asyncdemo: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    code = ExitCode.failure;
  }
  return process.exit(code);
}

async function dispatch(argv: readonly string[], env: Env, early: EarlySignals): Promise<number> {
  let request;
  try {
    request = parseCommandLine(argv, COMMANDS);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    complain(error.message, env);
    return ExitCode.usage;
  }
  const context: Context = { env, time: systemTime, app: app(), early, exit: (code) => process.exit(code), commands: COMMANDS };
  // Only the daemon and the editor hold signals for themselves; the other commands end as a signal says.
  if (request.kind !== 'run' || (request.command.name !== 'run' && request.command.name !== 'edit')) {
    const ended = early.take().find((signal) => SIGNAL_EXIT[signal] !== undefined);
    early.release();
    if (ended !== undefined) return SIGNAL_EXIT[ended] ?? ExitCode.failure;
  }
  switch (request.kind) {
    case 'help':
      return output(request.command === undefined ? globalHelp(COMMANDS) : commandHelp(request.command));
    case 'version':
      return output(`asyncdemo ${context.app.version} (commit ${context.app.commit}, Node.js ${process.version})\n`);
    case 'run':
      return request.command.run(request.invocation, context);
  }
}

/** Where this asyncdemo is: the directory above dist/, a checkout's or the package's. */
function app(): App {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  return {
    root,
    shippedConfig: join(root, 'config', 'default.yaml'),
    version: buildInfo.version,
    commit: buildInfo.commit,
    codeCacheDir: buildInfo.codeCacheDir,
    // The Debian package is repaired by apt; a checkout (its dev dependencies installed) or another copy by npm.
    bindingFix: buildInfo.debianPackage === undefined ? sdNotifyFix(root, existsSync(join(root, 'node_modules', 'typescript'))) : sdNotifyPackageFix(root, buildInfo.debianPackage),
  };
}
