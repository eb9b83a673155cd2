#!/bin/sh
# VM suite, in the guest, run from the share by the image's two units:
#
#   boot.sh setup   at boot, before asyncdemo.service: the simulated Pi GPIO chip
#   boot.sh phase   after multi-user.target: the phase named on the kernel
#                   command line (asyncdemo.phase=NAME), results to /mnt/vm/out;
#                   the unit powers the guest off when this returns
set -eu
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
here=$(cd "$(dirname "$0")" && pwd)
out=/mnt/vm/out

param() {
  for word in $(cat /proc/cmdline); do
    case "$word" in "$1"=*) echo "${word#*=}"; return ;; esac
  done
}

case "$1" in
  setup)
    # The chip a Pi's header has: label and line count from the command line
    # (pinctrl-bcm2711 with 58 lines: a Pi 4).
    sh "$here/gpio-sim.sh" create pi "$(param asyncdemo.chip || true)"
    ;;
  phase)
    phase=$(param asyncdemo.phase)
    mkdir -p "$out"
    echo "asyncdemo-vm: phase $phase starting at $(date -u +%FT%TZ), up $(cut -d' ' -f1 /proc/uptime) s" | tee "$out/$phase.started"
    code=0
    if [ -f "$here/$phase.test.js" ]; then
      grep=$(param asyncdemo.grep || true)
      # spec for people (followed live by the host), TAP for the host's count.
      node --test --test-concurrency=1 ${grep:+--test-name-pattern="$grep"} \
        --test-reporter=spec --test-reporter-destination="$out/$phase.log" \
        --test-reporter=tap --test-reporter-destination="$out/$phase.tap" \
        "$here/$phase.test.js" || code=$?
    elif [ -f "$here/$phase.sh" ]; then
      # A phase that is a shell script (the fleet test's: sshd, until the host is done).
      sh "$here/$phase.sh" > "$out/$phase.log" 2>&1 || code=$?
    else
      # A phase that is no test (the benchmark).
      node "$here/$phase.js" > "$out/$phase.log" 2>&1 || code=$?
    fi
    echo "$code" > "$out/$phase.exit"
    # The journal of this boot, for when something failed.
    journalctl -b --no-pager -o short-monotonic > "$out/$phase.journal" 2>&1 || true
    sync
    # What follows the checks without being one: the clock phase's writer, before the power cut.
    if [ -f "$here/$phase-after.js" ]; then node "$here/$phase-after.js"; fi
    ;;
  *)
    echo "usage: boot.sh setup|phase" >&2
    exit 64
    ;;
esac
