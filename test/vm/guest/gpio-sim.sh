#!/bin/sh
# A simulated GPIO chip through gpio-sim's configfs (the module is built into
# the image, test/vm/image/gpio-sim/):
#
#   gpio-sim.sh create NAME [LABEL:LINES]   a live chip (default pinctrl-bcm2711:58, a Pi 4)
#   gpio-sim.sh remove NAME
#
# Prints "NAME DEVICE CHIP", e.g. "pi gpio-sim.0 gpiochip0", once udev has
# handled the new devices (so the gpio group's rules have applied).
set -eu
configfs=/sys/kernel/config/gpio-sim
action=$1
name=$2
spec=${3:-}
[ -n "$spec" ] || spec=pinctrl-bcm2711:58

case "$action" in
  create)
    modprobe gpio-sim
    dir=$configfs/$name
    mkdir "$dir" "$dir/bank0"
    echo "${spec%:*}" > "$dir/bank0/label"
    echo "${spec##*:}" > "$dir/bank0/num_lines"
    echo 1 > "$dir/live"
    udevadm settle --timeout=30
    echo "$name $(cat "$dir/dev_name") $(cat "$dir/bank0/chip_name")"
    ;;
  remove)
    dir=$configfs/$name
    [ -d "$dir" ] || exit 0
    echo 0 > "$dir/live"
    rmdir "$dir/bank0" "$dir"
    udevadm settle --timeout=30
    ;;
  *)
    echo "usage: gpio-sim.sh create NAME [LABEL:LINES] | remove NAME" >&2
    exit 64
    ;;
esac
