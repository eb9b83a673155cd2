/**
 * The man pages and bash completion, written from the command table, the
 * settings schema and the step table at build time (scripts/build/docs.mjs),
 * so that none of them can say something the code does not do.
 */
import { schemaKeys } from '../config/schema.js';
import { STEP_KINDS, STEPS } from '../steps.js';
import type { Command, OptionSpec } from './command.js';
import { COMMON_EXIT_CODES, HELP_OPTION, SIGNALS, synopsis } from './help.js';

/** Text for roff: backslashes kept, a line that would start a request made inert, hyphens as minus signs (they are typed). */
function roff(text: string): string {
  return text
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

function optionRoff(option: OptionSpec): string {
  const long = `\\fB\\-\\-${option.name.replaceAll('-', '\\-')}\\fR${option.type === 'string' ? ` \\fI${option.value ?? 'VALUE'}\\fR` : ''}`;
  return option.short === undefined ? long : `\\fB\\-${option.short}\\fR, ${long}`;
}

/** asyncdemo(1). */
export function manPage(commands: readonly Command[], version: string): string {
  const out: string[] = [
    `.TH ASYNCDEMO 1 "" "asyncdemo ${roff(version)}" "User Commands"`,
    '.SH NAME',
    'asyncdemo \\- asyncio\\-style worker tasks from a config file, as a systemd service',
    '.SH SYNOPSIS',
    ...commands.map((c) => `.B ${roff(synopsis(c))}\n.br`),
    '.SH DESCRIPTION',
    roff(
      'asyncdemo runs worker tasks from a YAML config file, the way a Python asyncio program runs coroutines: each task is a list of steps (log a line, sleep, spawn another task, cancel one, stop), and debug mode reports a step that holds the event loop. On a Raspberry Pi it can light an LED at each step. It runs as the systemd service asyncdemo.service: systemctl start, stop and reload it; journalctl -u asyncdemo shows its lines; asyncdemo edit changes its config safely, and asyncdemo status shows what it does.',
    ),
    '.SH COMMANDS',
  ];
  for (const command of commands) {
    out.push('.TP', `.B ${roff(command.name)}`, roff(`${command.summary[0]?.toUpperCase() ?? ''}${command.summary.slice(1)}.`));
    for (const paragraph of command.description) out.push('.IP', roff(paragraph));
    for (const operand of command.operands ?? []) out.push('.RS', '.TP', `\\fI${roff(operand.name)}\\fR`, roff(operand.description), '.RE');
    for (const option of command.options) out.push('.RS', '.TP', optionRoff(option), roff(option.description), '.RE');
    for (const [code, text] of command.exitCodes ?? []) out.push('.RS', '.TP', `Exit ${code}`, roff(text), '.RE');
  }
  out.push('.SH OPTIONS', '.TP', optionRoff(HELP_OPTION), 'The help of a command, or the list of commands.', '.TP', '\\fB\\-V\\fR, \\fB\\-\\-version\\fR', 'The version, and the commit it was built from.');
  out.push('.SH SIGNALS');
  for (const [signal, text] of SIGNALS) out.push('.TP', `.B ${roff(signal)}`, roff(text));
  out.push('.SH EXIT STATUS');
  for (const [code, text] of exitCodes(commands)) out.push('.TP', `.B ${code}`, roff(text));
  out.push(
    '.SH ENVIRONMENT',
    '.TP',
    '.B ASYNCDEMO_CONFIG',
    roff('The config file, where no --config names one.'),
    '.TP',
    '.B ASYNCDEMO_STATUS_DIR',
    roff('Where a daemon publishes its status, and where asyncdemo status and reload look for it.'),
  );
  for (const key of schemaKeys().filter((k) => k.env !== undefined)) out.push('.TP', `.B ${key.env ?? ''}`, roff(`Overrides ${key.key} (asyncdemo.yaml(5)): ${key.doc}`));
  out.push(
    '.SH FILES',
    '.TP',
    '.I /etc/asyncdemo/config.yaml',
    roff("The service's config (asyncdemo.yaml(5)). Change it with asyncdemo edit, or edit it and run sudo systemctl reload asyncdemo."),
    '.TP',
    '.I /run/asyncdemo/status.json',
    roff('What the service is doing, for asyncdemo status; its last run after a stop.'),
    '.TP',
    '.I /var/log/asyncdemo/',
    roff('The JSON log files, rotated; current.log points at the one being written. Readable by the adm group.'),
    '.SH SEE ALSO',
    '.BR asyncdemo.yaml (5),',
    '.BR systemctl (1),',
    '.BR journalctl (1)',
    '',
  );
  return out.join('\n');
}

/** Every exit code, with what it means for each command that gives it. */
function exitCodes(commands: readonly Command[]): [number, string][] {
  const codes = new Map<number, string[]>(COMMON_EXIT_CODES.map(([code, text]) => [code, [text]]));
  for (const command of commands) {
    for (const [code, text] of command.exitCodes ?? []) codes.set(code, [...(codes.get(code) ?? []), `${command.name}: ${text}`]);
  }
  return [...codes].sort((a, b) => a[0] - b[0]).map(([code, texts]) => [code, texts.join('; ')]);
}

/** asyncdemo.yaml(5): the config file. */
export function configManPage(version: string): string {
  const out: string[] = [
    `.TH ASYNCDEMO.YAML 5 "" "asyncdemo ${roff(version)}" "File Formats"`,
    '.SH NAME',
    'asyncdemo.yaml \\- the config file of asyncdemo',
    '.SH DESCRIPTION',
    roff(
      'One YAML document (JSON is YAML too), UTF-8, a regular file of at most 128 KiB. Every key is known: a typo is refused with its line and the key meant. A bad value is refused with the file, line, key path and reason: asyncdemo check-config shows every problem; at start the daemon exits 78, at a reload the running config stays.',
    ),
    '.SH SETTINGS',
    roff('Each setting has a default; an environment variable overrides those that name one.'),
  ];
  for (const key of schemaKeys()) {
    out.push('.TP', `.B ${roff(key.key)}`, roff(`${key.doc} Default: ${JSON.stringify(key.default)}.${key.env === undefined ? '' : ` Environment: ${key.env}.`}`));
  }
  out.push(
    '.SH TASKS',
    roff('tasks is a mapping of names (letters, digits, _ - ., at most 64) to tasks. A task has steps (a list), and may have autostart (true: it starts with the daemon), repeat (a number of rounds, or forever; a task that repeats must sleep at least 1 ms per round), pin (its LED\'s BCM pin), led (toggle, hold, blink or none) and description. Spawns that make a cycle in which no task sleeps are refused.'),
    '.SH STEPS',
    roff('A step is a mapping with one of these keys, and optionally led (what it does to the LED).'),
  );
  for (const name of STEP_KINDS) {
    const kind = STEPS[name] as { summary: string; example: Readonly<Record<string, unknown>> };
    out.push('.TP', `.B ${name}`, roff(`${kind.summary[0]?.toUpperCase() ?? ''}${kind.summary.slice(1)}. For example: ${JSON.stringify(kind.example).replaceAll('"', '')}`));
  }
  out.push('.SH EXAMPLE', '.EX', roff(EXAMPLE.trim()), '.EE', '.SH SEE ALSO', '.BR asyncdemo (1)', '');
  return out.join('\n');
}

const EXAMPLE = `
tasks:
  operation:
    autostart: true
    steps:
      - log: start operation
      - spawn: operationsub
      - sleep: 0.2
      - cancel: operationsub
      - stop: true
  operationsub:
    steps:
      - log: start operationsub
      - sleep: 1
`;

/** bash completion for asyncdemo: commands, each one's options, files where a file is asked for. */
export function bashCompletion(commands: readonly Command[]): string {
  const names = commands.map((c) => c.name).join(' ');
  const cases = commands.map((command) => {
    const options = [...command.options, HELP_OPTION].flatMap((o) => [`--${o.name}`, ...(o.short === undefined ? [] : [`-${o.short}`])]).join(' ');
    const withFiles = command.options.filter((o) => o.type === 'string' && o.complete === 'file').flatMap((o) => [`--${o.name}`, ...(o.short === undefined ? [] : [`-${o.short}`])]);
    const withValues = command.options.filter((o) => o.type === 'string' && o.complete !== 'file').flatMap((o) => [`--${o.name}`, ...(o.short === undefined ? [] : [`-${o.short}`])]);
    const operand = command.operands?.[0]?.complete;
    const operands = operand === 'file' ? 'COMPREPLY=($(compgen -f -- "$cur"))' : operand === 'command' ? `COMPREPLY=($(compgen -W "${names}" -- "$cur"))` : 'COMPREPLY=()';
    return [
      `    ${command.name})`,
      ...(withFiles.length === 0 ? [] : [`      case $prev in ${withFiles.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac`]),
      ...(withValues.length === 0 ? [] : [`      case $prev in ${withValues.join('|')}) COMPREPLY=(); return ;; esac`]),
      `      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "${options}" -- "$cur")); else ${operands}; fi`,
      '      ;;',
    ].join('\n');
  });
  return `# bash completion for asyncdemo, written from its command table (src/commands/) at build time.
_asyncdemo() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} command= i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in -*) ;; *) command=\${COMP_WORDS[i]}; break ;; esac
  done
  case $command in
    '')
      COMPREPLY=($(compgen -W "${names} --help --version" -- "$cur"))
      ;;
${cases.join('\n')}
  esac
}
complete -F _asyncdemo asyncdemo
`;
}
