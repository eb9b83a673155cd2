import { accessSync, constants, mkdtempSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { childProcess } from '../lazy-builtins.js';
import { replaceFile } from '../safe-files.js';
import { CONFIG_OPTION, stringValue, type Command, type Env } from './command.js';
import { complain, writeOut } from './output.js';
import { reloadRunning, report } from './reload.js';
import { chooseConfig } from './where.js';

/** Editors tried, in order, after $VISUAL and $EDITOR (Debian's `editor` is the one `update-alternatives` chose). */
const EDITORS = ['editor', 'nano', 'vi'];
/** How long the reload after a good edit may take. */
const RELOAD_TIMEOUT_MS = 20_000;

export const edit: Command = {
  name: 'edit',
  summary: "edit the service's config safely: checked on save, installed atomically, then reloaded",
  options: [CONFIG_OPTION],
  description: [
    "Opens a copy of the service's config (or --config FILE) in $VISUAL, $EDITOR, editor, nano or vi, as visudo and crontab -e do. On save the copy is checked: a problem is shown with its line, and you can edit again or keep the old file. A good file replaces the old one atomically, with its mode and owner, and the running daemon is reloaded; the terminal shows what the reload did (kept, restarted, cancelled, started) or why it was refused.",
    'Nothing changes when the editor exits without saving a change, or fails. Run it with sudo for the installed service.',
  ],
  exitCodes: [
    [3, 'saved, but no daemon runs this config to reload'],
    [77, 'the file cannot be written by this user: use sudo (EX_NOPERM)'],
    [78, 'the edit was abandoned, or the reload refused the file'],
  ],
  async run(invocation, context) {
    const { env, early } = context;
    const choice = chooseConfig({ flag: stringValue(invocation, 'config'), env, app: context.app });
    const file = resolve(choice.file);
    let original: Buffer;
    try {
      original = readFileSync(file);
    } catch (error) {
      complain(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, env);
      return ExitCode.failure;
    }
    try {
      accessSync(dirname(file), constants.W_OK);
      accessSync(file, constants.W_OK);
    } catch {
      complain(`${file} can be changed by root only: sudo asyncdemo edit${choice.why.startsWith('from') ? ` --config ${file}` : ''}`, env);
      return ExitCode.noPermission;
    }
    const editor = findEditor(env);
    if (editor === undefined) {
      complain(`no editor found: set $EDITOR (for example EDITOR=nano), or install nano`, env);
      return ExitCode.failure;
    }
    const work = mkdtempSync(join(tmpdir(), 'asyncdemo-edit-'));
    try {
      // Named as the original, so the editor shows its name and highlights YAML.
      const copy = join(work, basename(file));
      writeFileSync(copy, original, { mode: 0o600 });
      for (;;) {
        const ran = childProcess().spawnSync('sh', ['-c', `${editor} "$1"`, 'sh', copy], { stdio: 'inherit', env: { ...process.env, ...definedOnly(env) } });
        // A stop signal that came while the editor ran (held since the first line) ends the edit, changing nothing.
        const interrupted = early.take().find((s) => s === 'SIGTERM' || s === 'SIGHUP' || s === 'SIGINT');
        if (interrupted !== undefined) return say(`${interrupted} while editing: ${file} is unchanged`, ExitCode.failure);
        if (ran.error !== undefined || ran.status !== 0) return say(`the editor (${editor}) ${ran.error === undefined ? `exited with ${ran.status ?? ran.signal}` : `did not run: ${ran.error.message}`}; ${file} is unchanged`, ExitCode.failure);
        const edited = readFileSync(copy);
        if (edited.equals(original)) return say(`no change to ${file}; nothing to do`, ExitCode.ok);
        const problem = check(copy, file, choice.env);
        if (problem === undefined) {
          const note = install(file, edited);
          if (note !== undefined) writeOut(2, `${note}\n`);
          writeOut(1, `saved ${file}\n`);
          break;
        }
        writeOut(2, `${problem}\n`);
        if (ask('What now? (e)dit again, or (k)eep the old file [e]: ') === 'keep') return say(`kept the old ${file}; your edit is dropped`, ExitCode.config);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    const answer = await reloadRunning(context, RELOAD_TIMEOUT_MS, file);
    if (answer.kind === 'not running') {
      writeOut(1, `no daemon runs ${file} now: it is used from the next start (sudo systemctl start asyncdemo)\n`);
      return ExitCode.notRunning;
    }
    return report(answer, env);
  },
};

function say(text: string, code: number): number {
  writeOut(code === ExitCode.ok ? 1 : 2, `${text}\n`);
  return code;
}

/** $VISUAL, $EDITOR, then the first of {@link EDITORS} on the PATH. */
function findEditor(env: Env): string | undefined {
  for (const variable of ['VISUAL', 'EDITOR']) {
    const value = env[variable]?.trim();
    if (value !== undefined && value !== '') return value;
  }
  return EDITORS.find((name) => childProcess().spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0);
}

function definedOnly(env: Env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** The problems of the edited copy, named as the file it will replace; undefined when it is good. */
function check(copy: string, file: string, env: Env): string | undefined {
  try {
    loadConfig({ file: copy, env });
    return undefined;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return `your edit of ${error.message.replaceAll(copy, file).replace(/^invalid config /, '')}`;
  }
}

/** An answer from the terminal: `keep` for k (or the end of input), else `edit`. */
function ask(question: string): 'edit' | 'keep' {
  writeOut(2, question);
  const buffer = Buffer.alloc(1);
  let line = '';
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buffer, 0, 1, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      return 'keep';
    }
    if (n === 0) return line.trim() === '' ? 'keep' : answerOf(line);
    const char = buffer.toString('utf8');
    if (char === '\n') return answerOf(line);
    line += char;
  }
}

function answerOf(line: string): 'edit' | 'keep' {
  return /^\s*k/i.test(line) ? 'keep' : 'edit';
}

/**
 * Replaces `file` with `bytes` atomically and durably, with the old file's
 * mode and owner (the conffile stays as the package made it).
 */
function install(file: string, bytes: Buffer): string | undefined {
  const old = statSync(file);
  return replaceFile(dirname(file), basename(file), bytes, {
    mode: old.mode & 0o7777,
    tempSuffix: `asyncdemo-edit-${process.pid}`,
    ...(process.getuid?.() === 0 ? { owner: { uid: old.uid, gid: old.gid } } : {}),
    durable: true,
  });
}
