#!/usr/bin/env bash
# Installs asyncdemo as a systemd service, from this checkout. Idempotent: run
# it again after `git pull` to update. Needs root. Prints what it does.
#
#   sudo scripts/install.sh
#
# App: /opt/asyncdemo (production dependencies only). Config:
# /etc/asyncdemo/config.yaml (never overwritten once there). Logs: the journal
# and /var/log/asyncdemo. Unit: /etc/systemd/system/asyncdemo.service.
set -euo pipefail

APP=/opt/asyncdemo
CONF_DIR=/etc/asyncdemo
UNIT=/etc/systemd/system/asyncdemo.service
SERVICE_USER=asyncdemo
SRC=$(cd "$(dirname "$0")/.." && pwd)

say() { printf 'asyncdemo install: %s\n' "$*"; }
die() { printf 'asyncdemo install: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run me as root: sudo $0"

# Node.js 20 or later.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if ! command -v node >/dev/null || [ "$(node_major)" -lt 20 ]; then
  candidate=$(apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ {print $2}' | sed 's/^[0-9]*://; s/[^0-9].*//')
  if [ -n "${candidate:-}" ] && [ "$candidate" -ge 20 ] 2>/dev/null; then
    say "installing Node.js $candidate from apt"
    DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
  else
    die "asyncdemo needs Node.js 20 or later; this machine has $(node --version 2>/dev/null || echo none), and apt offers ${candidate:-none}.
  On Raspberry Pi OS bookworm (Node 18), install Node.js 20 from NodeSource:
    curl -fsSL https://deb.nodesource.com/setup_20.x | sudo bash - && sudo apt-get install -y nodejs
  then run this script again. (Raspberry Pi OS trixie / Debian 13 ships Node.js 20.)"
  fi
fi
NODE=$(command -v node)
say "using Node.js $(node --version) at $NODE"

# Build tools for the native modules: sd-notify (libsystemd-dev) and onoff's epoll;
# gpiod for the GPIO character-device LED backend.
packages=(build-essential python3 libsystemd-dev gpiod)
if [ ! -e /usr/include/node/node.h ] && [ ! -e "$(dirname "$(dirname "$NODE")")/include/node/node.h" ]; then
  packages+=(libnode-dev) # Debian's node keeps its headers there; node-gyp needs them
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  say "build tools present"
fi

# The service user, in the gpio group (Raspberry Pi OS has it; elsewhere it is created, empty).
getent group gpio >/dev/null || { say "creating group gpio"; groupadd --system gpio; }
if ! id "$SERVICE_USER" >/dev/null 2>&1; then
  say "creating user $SERVICE_USER"
  useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
fi
id -nG "$SERVICE_USER" | tr ' ' '\n' | grep -qx gpio || { say "adding $SERVICE_USER to group gpio"; usermod -aG gpio "$SERVICE_USER"; }

# Build in the checkout if it has not been built.
if [ ! -f "$SRC/dist/main.js" ]; then
  say "building in $SRC (npm ci)"
  (cd "$SRC" && npm ci --no-audit --no-fund)
fi

# The app, with production dependencies only. The bundle in dist/ holds the
# JavaScript dependencies; node_modules is there for the native ones.
say "installing the app in $APP"
mkdir -p "$APP"
rm -rf "$APP/dist"
cp -a "$SRC/dist" "$SRC/config" "$SRC/deploy" "$SRC/scripts" "$SRC/package.json" "$SRC/package-lock.json" "$SRC/README.md" "$APP/"
(cd "$APP" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error) \
  || die "npm ci failed in $APP (its output is above); fix that and run me again"
# The sd-notify binding is required: the unit is Type=notify, and without the
# binding the daemon cannot say READY=1, so systemd could never start it.
if ! (cd "$APP" && npm rebuild sd-notify --loglevel=error) \
  || ! "$NODE" -e 'require(process.argv[1])' "$APP/node_modules/sd-notify/build/Release/notify.node"; then
  die "the sd-notify binding did not build (npm's output is above), and systemd cannot start asyncdemo without it.
  Fix: sudo apt install libsystemd-dev build-essential python3 (and libnode-dev with Debian's nodejs: node-gyp needs Node's headers), then run me again."
fi
# onoff's native part is optional: without it the LED uses the character device or a simulation.
(cd "$APP" && npm rebuild epoll --loglevel=error) \
  || say "warning: onoff's native part (epoll) did not build; asyncdemo runs without sysfs GPIO (asyncdemo doctor says what is missing)"
# The V8 code cache fits only the Node that made it: make it with the service's.
"$NODE" "$APP/scripts/build/code-cache.mjs" "$APP/dist" >/dev/null \
  || say "warning: could not make the code cache; asyncdemo starts a little slower without it"
chown -R root:root "$APP"

# The config: installed once, never overwritten.
mkdir -p "$CONF_DIR"
if [ ! -e "$CONF_DIR/config.yaml" ]; then
  say "installing the config $CONF_DIR/config.yaml"
  install -m 0640 -o root -g "$SERVICE_USER" "$SRC/config/default.yaml" "$CONF_DIR/config.yaml"
elif cmp -s "$SRC/config/default.yaml" "$CONF_DIR/config.yaml"; then
  say "config $CONF_DIR/config.yaml unchanged"
else
  say "keeping your edited $CONF_DIR/config.yaml; the shipped default is in $CONF_DIR/config.yaml.dist"
  install -m 0640 -o root -g "$SERVICE_USER" "$SRC/config/default.yaml" "$CONF_DIR/config.yaml.dist"
fi
"$NODE" "$APP/dist/main.js" check-config "$CONF_DIR/config.yaml" || die "the config does not validate; fix it and run me again"

# The unit, with this machine's node.
say "installing $UNIT"
sed "s|/usr/bin/node|$NODE|g" "$SRC/deploy/asyncdemo.service" > "$UNIT.tmp"
mv "$UNIT.tmp" "$UNIT"
chmod 0644 "$UNIT"

if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable asyncdemo.service >/dev/null 2>&1
  say "starting asyncdemo (returns once it is ready)"
  systemctl restart asyncdemo.service
  systemctl --no-pager --lines=0 status asyncdemo.service || true
  say "done. Follow it with: journalctl -u asyncdemo -f"
else
  say "systemd is not running here; start it later with: sudo systemctl enable --now asyncdemo"
fi
