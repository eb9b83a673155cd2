/**
 * Typed errors. Each has a stable `code` that tests and callers can match on,
 * and carries what a user needs to act on it.
 */

/**
 * What an aborted wait rejects with, shaped like Node's own AbortError
 * (`lib/internal/errors.js`): `name` AbortError, `code` ABORT_ERR, and the
 * signal's reason as `cause`.
 */
export class AbortError extends Error {
  override name = 'AbortError';
  readonly code = 'ABORT_ERR';

  constructor(message = 'The operation was aborted', options?: ErrorOptions) {
    // No stack: a stop cancels every sleeping task at once, and capturing ten
    // thousand stack traces took most of that stop's time (measured: 7.5 µs
    // each). Where the sleep was is in the task's own log line; the cause says why.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message, options);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

/** The reason a task's signal is aborted with: who cancelled it and why. */
export class TaskCancelledError extends Error {
  override name = 'TaskCancelledError';
  readonly code = 'TASK_CANCELLED';
}

/** A step made its task fail (the `fail` demonstration step, or a step that threw). */
export class TaskFailedError extends Error {
  override name = 'TaskFailedError';
  readonly code = 'TASK_FAILED';
}

/** One problem in a config: where it is and what is wrong. */
export interface ConfigIssue {
  /** Key path such as `tasks.operation.steps[3].sleep`; empty for the file as a whole. */
  readonly path: string;
  readonly reason: string;
  /** 1-based line in the file, when the parser could tell. */
  readonly line?: number;
  /** The environment variable the bad value came from, when it did. */
  readonly env?: string;
}

/** A config that cannot be used. Exit code 78 (EX_CONFIG) at start; at reload the old config stays. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';

  /** Problems found beyond those in {@link issues}: a file full of errors is reported by its first few. */
  readonly more: number;

  constructor(
    readonly file: string,
    readonly issues: readonly ConfigIssue[],
    options?: ErrorOptions & { readonly more?: number },
  ) {
    super(formatConfigIssues(file, issues, options?.more ?? 0), options);
    this.more = options?.more ?? 0;
  }
}

function formatConfigIssues(file: string, issues: readonly ConfigIssue[], more: number): string {
  const lines = issues.map((issue) => {
    const where = issue.line === undefined ? file : `${file}:${issue.line}`;
    const key = issue.path === '' ? '' : ` ${issue.path}:`;
    const from = issue.env === undefined ? '' : ` (from environment variable ${issue.env})`;
    return `  ${where}:${key} ${issue.reason}${from}`;
  });
  if (more > 0) lines.push(`  … and ${more} more problem${more === 1 ? '' : 's'}`);
  const total = issues.length + more;
  const count = total === 1 ? '1 problem' : `${total} problems`;
  return `invalid config ${file} (${count}):\n${lines.join('\n')}`;
}

/** Wrong command-line usage. Exit code 64 (EX_USAGE). */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly code = 'USAGE';
}

/**
 * A problem the user can fix, with the fix in the same line: `<reason>. Fix: <fix>`.
 * The daemon logs such an error as one line and goes on (or exits) without a
 * stack: the fix is what the reader needs, not where the code noticed it.
 */
export class FixableError extends Error {
  constructor(
    readonly reason: string,
    /** What to do about it, worded as a command or an edit. */
    readonly fix: string,
    options?: ErrorOptions,
  ) {
    super(`${reason}. Fix: ${fix}`, options);
  }
}

/** GPIO cannot drive the LED: not a Pi, no GPIO interface, no permission. */
export class GpioUnavailableError extends FixableError {
  override name = 'GpioUnavailableError';
  readonly code = 'GPIO_UNAVAILABLE';
}

/** systemd waits for READY=1 and the sd-notify binding is missing: the service cannot start. The fix installs and builds the binding. */
export class SdNotifyMissingError extends FixableError {
  override name = 'SdNotifyMissingError';
  readonly code = 'SD_NOTIFY_MISSING';
}
