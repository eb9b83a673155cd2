/** Exit codes, from sysexits.h where one fits, so systemd units can tell them apart. */
export const ExitCode = {
  ok: 0,
  /** A crash: systemd's `Restart=on-failure` restarts the service. */
  failure: 1,
  /** `asyncdemo status`: the service is not running (LSB's code for a status action). */
  notRunning: 3,
  usage: 64,
  /**
   * EX_UNAVAILABLE: something the service cannot run without is missing (the
   * sd-notify binding under systemd). Listed in `RestartPreventExitStatus=`
   * too: a restart would only fail again.
   */
  unavailable: 69,
  /** EX_CONFIG. The unit lists it in `RestartPreventExitStatus=`, so a bad config does not loop. */
  config: 78,
} as const;
