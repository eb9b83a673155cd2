/**
 * The daemon's side of the sd_notify protocol. The real implementation talks
 * to systemd; outside systemd every call does nothing.
 */
export interface Notifier {
  /** Whether anyone listens: false outside systemd. */
  readonly active: boolean;
  /** READY=1, with a STATUS= line. */
  ready(status: string): void;
  /** RELOADING=1: a SIGHUP reload has begun; `ready()` ends it. */
  reloading(status: string): void;
  /** STOPPING=1. */
  stopping(status: string): void;
  /** STATUS=, shown by `systemctl status`. */
  status(text: string): void;
  /** WATCHDOG=1. */
  watchdog(): void;
  /**
   * How often to call {@link watchdog}, in milliseconds (half of what systemd
   * asked for), or undefined when systemd asked for no watchdog pings.
   */
  readonly watchdogIntervalMs: number | undefined;
}

/** The notifier outside systemd. */
export const silentNotifier: Notifier = {
  active: false,
  ready() {},
  reloading() {},
  stopping() {},
  status() {},
  watchdog() {},
  watchdogIntervalMs: undefined,
};
