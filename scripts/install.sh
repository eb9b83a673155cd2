#!/usr/bin/env bash
# Installs asyncdemo as a systemd service, from this checkout. Idempotent: run
# it again after `git pull` to update. Needs root. Prints one line per thing it
# does; the output of the tools it runs goes to a log, shown only when one fails.
#
#   sudo scripts/install.sh              install or upgrade, then (re)start the service
#   sudo scripts/install.sh --no-start   the same, but leave the service as it is: a
#                                        deploy tool restarts it once, after writing its config
#
# App: /opt/asyncdemo (production dependencies only), the command
# /usr/local/bin/asyncdemo. Config: /etc/asyncdemo/config.yaml (replaced at an
# upgrade only while it is the default an earlier install put there, as dpkg
# does with conffiles). Logs: the journal and /var/log/asyncdemo, readable by
# the adm group. Unit: /etc/systemd/system/asyncdemo.service. What it created
# is recorded in /var/lib/asyncdemo/install.state for uninstall.sh --purge.
set -euo pipefail

APP=/opt/asyncdemo
CONF_DIR=/etc/asyncdemo
CONFIG=$CONF_DIR/config.yaml
UNIT=/etc/systemd/system/asyncdemo.service
BIN=/usr/local/bin/asyncdemo
STATE_DIR=/var/lib/asyncdemo
STATE=$STATE_DIR/install.state
SERVICE_USER=asyncdemo
SRC=$(cd "$(dirname "$0")/.." && pwd)

say() { printf 'asyncdemo install: %s\n' "$*"; }
die() { printf 'asyncdemo install: %s\n' "$*" >&2; exit 1; }

START=1
for arg in "$@"; do
  case $arg in
    --no-start) START=0 ;;
    *) die "unknown option $arg (the one option is --no-start)" ;;
  esac
done

[ "$(id -u)" -eq 0 ] || die "run me as root: sudo $0"

LOG=$(mktemp /tmp/asyncdemo-install.XXXXXX.log)
trap 'rm -f "$LOG"' EXIT
# Runs a command with its output in the log; on failure shows the log's end and stops.
quietly() {
  if ! "$@" >>"$LOG" 2>&1; then
    printf 'asyncdemo install: failed: %s\n' "$*" >&2
    tail -n 30 "$LOG" >&2
    exit 1
  fi
}

# What this script created, so that --purge removes only that (key=value lines).
mkdir -p "$STATE_DIR"
chmod 0755 "$STATE_DIR"
touch "$STATE"
state_get() { sed -n "s/^$1=//p" "$STATE" | tail -n 1; }
state_set() {
  grep -v "^$1=" "$STATE" >"$STATE.tmp" || true
  printf '%s=%s\n' "$1" "$2" >>"$STATE.tmp"
  mv "$STATE.tmp" "$STATE"
}

# Node.js 20 or later.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if ! command -v node >/dev/null || [ "$(node_major)" -lt 20 ]; then
  candidate=$(apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ {print $2}' | sed 's/^[0-9]*://; s/[^0-9].*//')
  if [ -n "${candidate:-}" ] && [ "$candidate" -ge 20 ] 2>/dev/null; then
    say "installing Node.js $candidate from apt"
    quietly env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
  else
    die "asyncdemo needs Node.js 20 or later; this machine has $(node --version 2>/dev/null || echo none), and apt offers ${candidate:-none}.
  On Raspberry Pi OS bookworm (Node 18), install Node.js 20 from NodeSource:
    curl -fsSL https://deb.nodesource.com/setup_20.x | sudo bash - && sudo apt-get install -y nodejs
  then run this script again. (Raspberry Pi OS trixie / Debian 13 ships Node.js 20.)"
  fi
fi
NODE=$(command -v node)
say "using Node.js $(node --version) at $NODE"

# Build tools for the native modules: sd-notify (libsystemd-dev) and onoff's epoll.
# python3: node-gyp needs it, and the GPIO character-device LED drives the line
# through a python3 helper (src/led/line-helper.ts), so no gpiod package.
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
packages=()
for p in build-essential python3; do installed "$p" || packages+=("$p"); done
if [ ! -e /usr/include/node/node.h ] && [ ! -e "$(dirname "$(dirname "$NODE")")/include/node/node.h" ]; then
  installed libnode-dev || packages+=(libnode-dev) # Debian's node keeps its headers there; node-gyp needs them
fi
# libsystemd-dev must be the version of the installed libsystemd0: a newer one
# would pull an upgrade of systemd itself in with it.
if ! installed libsystemd-dev; then
  libsystemd=$(dpkg-query -W -f='${Version}' libsystemd0 2>/dev/null || true)
  if [ -n "$libsystemd" ] && apt-cache madison libsystemd-dev 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -qxF "$libsystemd"; then
    packages+=("libsystemd-dev=$libsystemd")
  else
    packages+=(libsystemd-dev)
  fi
fi
if [ "${#packages[@]}" -gt 0 ]; then
  quietly env DEBIAN_FRONTEND=noninteractive apt-get update -q
  # Say plainly what else installing them would upgrade, before it does.
  upgrades=$(DEBIAN_FRONTEND=noninteractive apt-get install -s --no-install-recommends "${packages[@]}" 2>/dev/null \
    | awk '/^Inst / && $3 ~ /^\[/ {gsub(/[][]/, "", $3); gsub(/\(/, "", $4); printf "%s%s %s -> %s", sep, $2, $3, $4; sep=", "}')
  say "installing ${packages[*]}"
  [ -z "$upgrades" ] || say "this also upgrades: $upgrades (the archive has no libsystemd-dev matching the installed libsystemd0)"
  quietly env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
else
  say "build tools present"
fi
# The service runs python3 from its PATH for the character-device LED, with the modules the helper imports.
python3 -I -S -c 'import errno, fcntl, json, os, re, signal, struct, sys' >>"$LOG" 2>&1 \
  || say "warning: python3 does not run the GPIO helper; the character-device LED falls back to a simulated one (fix: sudo apt-get install --reinstall python3)"

# The service user, in the gpio group (Raspberry Pi OS has it; elsewhere it is created, empty).
if ! getent group gpio >/dev/null; then
  say "creating group gpio"
  groupadd --system gpio
  state_set created_group_gpio yes
fi
if ! id "$SERVICE_USER" >/dev/null 2>&1; then
  say "creating user $SERVICE_USER"
  useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
  state_set created_user yes
fi
id -nG "$SERVICE_USER" | tr ' ' '\n' | grep -qx gpio || { say "adding $SERVICE_USER to group gpio"; usermod -aG gpio "$SERVICE_USER"; }

# Build in the checkout if it has not been built.
if [ ! -f "$SRC/dist/main.js" ]; then
  say "building in $SRC (npm ci)"
  (cd "$SRC" && quietly npm ci --no-audit --no-fund --loglevel=error)
fi

# The app, with production dependencies only. The bundle in dist/ holds the
# JavaScript dependencies; node_modules is there for the native ones.
say "installing the app in $APP"
mkdir -p "$APP"
rm -rf "$APP/dist"
cp -a "$SRC/dist" "$SRC/config" "$SRC/deploy" "$SRC/scripts" "$SRC/package.json" "$SRC/package-lock.json" "$SRC/README.md" "$APP/"
(cd "$APP" && quietly npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error)
# The sd-notify binding is required: the unit is Type=notify, and without the
# binding the daemon cannot say READY=1, so systemd could never start it.
if ! (cd "$APP" && npm rebuild sd-notify --loglevel=error >>"$LOG" 2>&1) \
  || ! "$NODE" -e 'require(process.argv[1])' "$APP/node_modules/sd-notify/build/Release/notify.node" >>"$LOG" 2>&1; then
  tail -n 30 "$LOG" >&2
  die "the sd-notify binding did not build (npm's output is above), and systemd cannot start asyncdemo without it.
  Fix: sudo apt install libsystemd-dev build-essential python3 (and libnode-dev with Debian's nodejs: node-gyp needs Node's headers), then run me again."
fi
# onoff's native part is optional: without it the LED uses the character device or a simulation.
(cd "$APP" && npm rebuild epoll --loglevel=error >>"$LOG" 2>&1) \
  || say "warning: onoff's native part (epoll) did not build; asyncdemo runs without sysfs GPIO (asyncdemo doctor says what is missing)"
# The V8 code cache fits only the Node that made it: make it with the service's.
"$NODE" "$APP/scripts/build/code-cache.mjs" "$APP/dist" >>"$LOG" 2>&1 \
  || say "warning: could not make the code cache; asyncdemo starts a little slower without it"
chown -R root:root "$APP"

# The command, with the service's node (the code cache fits only it).
say "installing the command $BIN"
cat >"$BIN.tmp" <<EOF
#!/bin/sh
# asyncdemo's command line, installed by scripts/install.sh.
exec $NODE $APP/dist/main.js "\$@"
EOF
chmod 0755 "$BIN.tmp"
mv "$BIN.tmp" "$BIN"

# The config. Like a dpkg conffile: an upgrade replaces it only while it is
# still the default an earlier install put there (its checksum is recorded);
# an edited one is kept, with the new default next to it. Readable by all: it
# holds no secrets, and users in adm check it without sudo.
sha() { sha256sum "$1" | cut -d' ' -f1; }
install -d -m 0755 -o root -g root "$CONF_DIR"
new_default=$(sha "$SRC/config/default.yaml")
if [ ! -e "$CONFIG" ]; then
  say "installing the config $CONFIG"
  install -m 0644 -o root -g root "$SRC/config/default.yaml" "$CONFIG"
  state_set config_sha256 "$new_default"
elif [ "$(sha "$CONFIG")" = "$new_default" ]; then
  say "config $CONFIG is the current default"
  state_set config_sha256 "$new_default"
elif [ "$(sha "$CONFIG")" = "$(state_get config_sha256)" ]; then
  say "updating the config $CONFIG to the new default (it was the old default, never edited)"
  install -m 0644 -o root -g root "$SRC/config/default.yaml" "$CONFIG"
  state_set config_sha256 "$new_default"
  rm -f "$CONFIG.dist"
else
  say "keeping your edited $CONFIG; the new default is in $CONFIG.dist"
  install -m 0644 -o root -g root "$SRC/config/default.yaml" "$CONFIG.dist"
fi
chmod 0644 "$CONFIG"
check=$("$NODE" "$APP/dist/main.js" check-config "$CONFIG" 2>&1) || die "the config does not validate; fix it and run me again:
$check"

# The unit, with this machine's node.
say "installing $UNIT"
sed "s|/usr/bin/node|$NODE|g" "$SRC/deploy/asyncdemo.service" >"$UNIT.tmp"
chmod 0644 "$UNIT.tmp"
mv "$UNIT.tmp" "$UNIT"

if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --quiet asyncdemo.service
  if [ "$START" -eq 0 ]; then
    say "done; not (re)started (--no-start): a running asyncdemo keeps running the app it started with until: sudo systemctl restart asyncdemo"
    exit 0
  fi
  say "starting asyncdemo (returns once it is ready)"
  systemctl restart asyncdemo.service || die "asyncdemo did not start; see: journalctl -u asyncdemo -p warning"
  # Name only commands this release has.
  if "$BIN" --help 2>/dev/null | grep -q '^  status '; then
    say "done. Follow it with: journalctl -u asyncdemo -f   (and: asyncdemo status)"
  else
    say "done. Follow it with: journalctl -u asyncdemo -f   (and: asyncdemo print-config)"
  fi
else
  say "systemd is not running here; start it later with: sudo systemctl enable --now asyncdemo"
fi
