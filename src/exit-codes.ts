/** Exit codes, from sysexits.h and LSB where one fits, so systemd units and scripts can tell them apart. */
export const ExitCode = {
  ok: 0,
  /** A crash: systemd's `Restart=on-failure` restarts the service. Also a failed command. */
  failure: 1,
  /** `status`, `reload`: the daemon is not running (LSB's code for a status action). */
  notRunning: 3,
  /** `status`: the status file cannot be read or is not asyncdemo's (LSB: "status unknown"). */
  statusUnknown: 4,
  usage: 64,
  /**
   * EX_UNAVAILABLE: something the service cannot run without is missing (the
   * sd-notify binding under systemd). Listed in `RestartPreventExitStatus=`
   * too: a restart would only fail again.
   */
  unavailable: 69,
  /** EX_TEMPFAIL: `run` refused to start beside the service on the same LED pin; `reload` got no answer in time. */
  tempFail: 75,
  /** EX_NOPERM: `edit` or `reload` needs root (or the daemon's user) for what it was asked. */
  noPermission: 77,
  /** EX_CONFIG. The unit lists it in `RestartPreventExitStatus=`, so a bad config does not loop. Also a reload refused. */
  config: 78,
} as const;
