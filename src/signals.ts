import type { EventEmitter } from 'node:events';
import type { Lifecycle } from './lifecycle.js';

export interface ProcessHandlers {
  /** SIGTERM or SIGINT before a stop: stop gracefully. */
  stop(signal: NodeJS.Signals): void;
  /** SIGTERM or SIGINT once a stop (however it began) or a crash is under way: exit at once, non-zero (unless the stop has finished). */
  forceExit(signal: NodeJS.Signals): void;
  /** SIGHUP. */
  reload(): void;
  /** SIGUSR1: log a status report. */
  status(): void;
  /** SIGUSR2 or SIGALRM: say so and do nothing else. */
  ignored(signal: NodeJS.Signals): void;
  /** An uncaught exception or unhandled rejection: log it, release the hardware, exit 1. */
  fatal(error: unknown, origin: 'uncaughtException' | 'unhandledRejection'): void;
  /** A Node process warning (deprecations, listener leaks). */
  warning(warning: Error): void;
}

/** Signals asyncdemo takes over only so that they cannot kill it: by default each would end the process silently. */
const IGNORED_SIGNALS = ['SIGUSR2', 'SIGALRM'] as const;


/**
 * The one place that listens to the process's signals and error events (as
 * close-with-grace does). A listener replaces Node's default for its signal:
 * SIGHUP, SIGUSR2 and SIGALRM would end the process; SIGUSR1 would open the
 * inspector on 127.0.0.1:9229, where any local user could run code as the
 * daemon. Returns the function that removes every listener again.
 */
export function listenToProcess(proc: EventEmitter, handlers: ProcessHandlers, lifecycle: Lifecycle): () => void {
  const onStop = (signal: NodeJS.Signals): void => {
    if (lifecycle.ending) handlers.forceExit(signal);
    else handlers.stop(signal);
  };
  const onHup = (): void => handlers.reload();
  const onUsr1 = (): void => handlers.status();
  const onIgnored = (signal: NodeJS.Signals): void => handlers.ignored(signal);
  const onException = (error: unknown): void => handlers.fatal(error, 'uncaughtException');
  const onRejection = (reason: unknown): void => handlers.fatal(reason, 'unhandledRejection');
  const onWarning = (warning: Error): void => handlers.warning(warning);

  const listeners: [string, Parameters<EventEmitter['on']>[1]][] = [
    ['SIGTERM', onStop],
    ['SIGINT', onStop],
    ['SIGHUP', onHup],
    ['SIGUSR1', onUsr1],
    ...IGNORED_SIGNALS.map((signal): [string, typeof onIgnored] => [signal, onIgnored]),
    ['uncaughtException', onException],
    ['unhandledRejection', onRejection],
    ['warning', onWarning],
  ];
  for (const [event, listener] of listeners) proc.on(event, listener);
  return () => {
    for (const [event, listener] of listeners) proc.off(event, listener);
  };
}
