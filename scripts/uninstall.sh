#!/usr/bin/env bash
# Removes the asyncdemo service, app and command. Keeps /etc/asyncdemo (your
# config) and /var/log/asyncdemo unless --purge, which also removes them and
# what scripts/install.sh created for it (the user, and the gpio group if it
# made one: /var/lib/asyncdemo/install.state says).
#
#   sudo scripts/uninstall.sh [--purge]
set -euo pipefail

STATE=/var/lib/asyncdemo/install.state
say() { printf 'asyncdemo uninstall: %s\n' "$*"; }
[ "$(id -u)" -eq 0 ] || { echo "asyncdemo uninstall: run me as root: sudo $0" >&2; exit 1; }
purge=false
case "${1:-}" in
  --purge) purge=true ;;
  "") ;;
  *) echo "usage: $0 [--purge]" >&2; exit 64 ;;
esac
created() { [ -f "$STATE" ] && grep -qx "$1=yes" "$STATE"; }

if [ -d /run/systemd/system ] && [ -e /etc/systemd/system/asyncdemo.service ]; then
  say "stopping and disabling asyncdemo"
  systemctl disable --now --quiet asyncdemo.service || true
fi
if [ -e /etc/systemd/system/asyncdemo.service ]; then
  say "removing /etc/systemd/system/asyncdemo.service"
  rm -f /etc/systemd/system/asyncdemo.service
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl reset-failed asyncdemo.service 2>/dev/null || true
  fi
fi
for path in /usr/local/bin/asyncdemo /opt/asyncdemo; do
  if [ -e "$path" ]; then
    say "removing $path"
    rm -rf "$path"
  fi
done
if $purge; then
  say "removing /etc/asyncdemo, /var/log/asyncdemo, /var/cache/asyncdemo"
  rm -rf /etc/asyncdemo /var/log/asyncdemo /var/cache/asyncdemo
  if created created_user && id asyncdemo >/dev/null 2>&1; then
    say "removing user asyncdemo"
    userdel asyncdemo
  fi
  if created created_group_gpio && getent group gpio >/dev/null; then
    members=$(getent group gpio | cut -d: -f4)
    if [ -z "$members" ]; then
      say "removing group gpio (install.sh created it)"
      groupdel gpio
    else
      say "keeping group gpio: install.sh created it, but it now has members ($members)"
    fi
  fi
  rm -rf /var/lib/asyncdemo
else
  say "kept /etc/asyncdemo and /var/log/asyncdemo (remove them with --purge)"
fi
say "done"
