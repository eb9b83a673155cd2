#!/usr/bin/env bash
# Removes the asyncdemo service and app. Keeps /etc/asyncdemo (your config)
# and /var/log/asyncdemo unless --purge, which also removes the user.
#
#   sudo scripts/uninstall.sh [--purge]
set -euo pipefail

say() { printf 'asyncdemo uninstall: %s\n' "$*"; }
[ "$(id -u)" -eq 0 ] || { echo "asyncdemo uninstall: run me as root: sudo $0" >&2; exit 1; }
purge=false
case "${1:-}" in
  --purge) purge=true ;;
  "") ;;
  *) echo "usage: $0 [--purge]" >&2; exit 64 ;;
esac

if [ -d /run/systemd/system ] && systemctl list-unit-files asyncdemo.service >/dev/null 2>&1; then
  say "stopping and disabling asyncdemo"
  systemctl disable --now asyncdemo.service >/dev/null 2>&1 || true
fi
if [ -e /etc/systemd/system/asyncdemo.service ]; then
  say "removing /etc/systemd/system/asyncdemo.service"
  rm -f /etc/systemd/system/asyncdemo.service
  [ -d /run/systemd/system ] && systemctl daemon-reload
fi
if [ -d /opt/asyncdemo ]; then
  say "removing /opt/asyncdemo"
  rm -rf /opt/asyncdemo
fi
if $purge; then
  say "removing /etc/asyncdemo and /var/log/asyncdemo"
  rm -rf /etc/asyncdemo /var/log/asyncdemo
  if id asyncdemo >/dev/null 2>&1; then
    say "removing user asyncdemo"
    userdel asyncdemo
  fi
else
  say "kept /etc/asyncdemo and /var/log/asyncdemo (remove them with --purge)"
fi
say "done"
