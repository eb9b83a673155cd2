#!/bin/sh
# Runs in the image's chroot (test/vm/image/build.sh): builds gpio-sim.ko
# against the image's kernel headers and installs it as an extra module.
set -eu
cd /root/gpio-sim
kver=$(ls /lib/modules)
[ "$(echo "$kver" | wc -l)" -eq 1 ] || { echo "gpio-sim: expected one kernel, found: $kver" >&2; exit 1; }
cp drivers/gpio/gpio-sim.c gpio-sim-main.c
cp drivers/gpio/*.h .
irq_sim=irq_sim
if grep -q '^CONFIG_IRQ_SIM=y' "/boot/config-$kver"; then
  irq_sim= # built in: linking it again would export its symbols twice
else
  # irq_to_desc() is not exported to modules; generic_handle_irq() does the
  # same lookup and calls the same handler (handle_simple_irq, set at map time).
  sed 's/handle_simple_irq(irq_to_desc(irqnum))/generic_handle_irq(irqnum)/' kernel/irq/irq_sim.c > irq_sim.c
  if grep -q 'irq_to_desc' irq_sim.c; then
    echo "gpio-sim: irq_sim.c of $kver still calls irq_to_desc(); the substitution needs updating" >&2
    exit 1
  fi
fi
make -s -C "/lib/modules/$kver/build" M="$PWD" IRQ_SIM="$irq_sim" modules
install -D -m 0644 gpio-sim.ko "/lib/modules/$kver/extra/gpio-sim.ko"
depmod "$kver"
echo "gpio-sim: built for $kver$( [ -n "$irq_sim" ] && echo ' (with irq_sim linked in)')"
