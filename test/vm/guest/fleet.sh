#!/bin/sh
# The fleet test's phase (test/fleet/run.ts): the guest as a Pi on the
# network, for Ansible. Brings up the NIC QEMU gives it (user networking,
# restricted: only the host's forward of 127.0.0.1:PORT to port 22 reaches
# it), lets root in with the host's key from the share, starts sshd, says
# so in out/fleet.ready, and waits until the host writes out/fleet.stop
# (the host bounds the whole boot; boot.sh's unit then powers off).
set -eu
out=/mnt/vm/out
nic=$(ip -o link show | awk -F': ' '$2 != "lo" {print $2; exit}')
[ -n "$nic" ] || { echo "fleet: no network interface (was the guest booted with sshPort?)"; exit 1; }
ip link set "$nic" up
ip addr add 10.0.2.15/24 dev "$nic"
install -d -m 0700 /root/.ssh
install -m 0600 /mnt/vm/fleet/authorized_keys /root/.ssh/authorized_keys
systemctl start ssh.service
echo "fleet: sshd on $nic 10.0.2.15:22, $(ls /sys/kernel/config/gpio-sim 2>/dev/null | wc -l) simulated chip(s)" | tee "$out/fleet.ready"
while [ ! -e "$out/fleet.stop" ]; do sleep 1; done
echo "fleet: stop asked for; powering off"
