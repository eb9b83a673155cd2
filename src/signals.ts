import type { EventEmitter } from 'node:events';

export interface ProcessHandlers {
  /** First SIGTERM or SIGINT: stop gracefully. */
  stop(signal: NodeJS.Signals): void;
  /** A second SIGTERM or SIGINT while stopping: exit at once, non-zero. */
  forceExit(signal: NodeJS.Signals): void;
  /** SIGHUP. */
  reload(): void;
  /** An uncaught exception or unhandled rejection: log it, release the hardware, exit 1. */
  fatal(error: unknown, origin: 'uncaughtException' | 'unhandledRejection'): void;
  /** A Node process warning (deprecations, listener leaks). */
  warning(warning: Error): void;
}

/**
 * The one place that listens to the process's signals and error events (as
 * close-with-grace does). Registering SIGHUP here also replaces Node's
 * default for it, which is to die. Returns the function that removes every
 * listener again.
 */
export function listenToProcess(proc: EventEmitter, handlers: ProcessHandlers): () => void {
  let stopping = false;
  const onStop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      handlers.forceExit(signal);
      return;
    }
    stopping = true;
    handlers.stop(signal);
  };
  const onHup = (): void => handlers.reload();
  const onException = (error: unknown): void => handlers.fatal(error, 'uncaughtException');
  const onRejection = (reason: unknown): void => handlers.fatal(reason, 'unhandledRejection');
  const onWarning = (warning: Error): void => handlers.warning(warning);

  proc.on('SIGTERM', onStop);
  proc.on('SIGINT', onStop);
  proc.on('SIGHUP', onHup);
  proc.on('uncaughtException', onException);
  proc.on('unhandledRejection', onRejection);
  proc.on('warning', onWarning);
  return () => {
    proc.off('SIGTERM', onStop);
    proc.off('SIGINT', onStop);
    proc.off('SIGHUP', onHup);
    proc.off('uncaughtException', onException);
    proc.off('unhandledRejection', onRejection);
    proc.off('warning', onWarning);
  };
}
