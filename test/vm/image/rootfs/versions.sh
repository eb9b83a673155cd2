#!/bin/sh
# Runs in the image's chroot: what the image holds, as JSON (test/README.md's table).
v() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }
printf '{"suite":"%s","arch":"%s","kernel":"%s","systemd":"%s","libgpiod":"%s","python3":"%s","node":"%s"}\n' \
  "$1" "$2" "$(ls /lib/modules)" "$(v systemd)" "$(v gpiod)" "$(v python3)" "$(PATH=/usr/local/bin:/usr/bin node --version)"
