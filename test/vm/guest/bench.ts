/**
 * A benchmark, after the main phase's checks (guest/boot.sh runs it; never a
 * pass/fail): how many LED changes per second reach the kernel's GPIO line,
 * and the CPU each costs, under the shipped unit, for steps from 100 ms down
 * to 1 ms apart. Changes are counted by gpiolib's trace (every value set on
 * the line); CPU is the unit's cgroup, children included (systemd's
 * CPUUsageNSec). `simulated` is the same daemon without GPIO: the baseline.
 * Its own phase (`npm run test:vm -- --phase bench`), after an install.
 */
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ledConfig } from './configs.js';
import { APP, apt, GpioTrace, LineSampler, OUT, packages, restart, show, simChip, stop, writeConfig } from './lib.js';
import { existsSync } from 'node:fs';

const WINDOW_MS = 4000;
if (!existsSync(`${APP}/dist/main.js`)) {
  const { result, ms } = apt(['install', '--no-install-recommends', packages().current], 'install.log');
  if (result.code !== 0) throw new Error(`apt install failed:\n${result.stdout.slice(-2000)}`);
  console.log(`installed in ${(ms / 1000).toFixed(0)} s`);
}
const pi = simChip('pinctrl-bcm2711');
const gpio = (pi.base ?? 0) + 17;
const trace = new GpioTrace();
trace.start();

interface Row {
  backend: string;
  stepMs: number;
  stepsPerS: number;
  changesPerS: number;
  reached: number;
  cpuMsPerChange: number | null;
  cpuMsPerStep: number;
}
const rows: Row[] = [];
for (const backend of ['simulated', 'sysfs', 'chardev'] as const) {
  for (const stepMs of [100, 50, 20, 10, 1]) {
    writeConfig(ledConfig(backend, 17, stepMs));
    restart();
    if (backend !== 'simulated') {
      const warm = new LineSampler(pi, 17);
      await warm.waitForTransitions(1, 30_000).finally(() => warm.stop());
    }
    const cpu0 = Number(show('CPUUsageNSec'));
    trace.clear();
    const t0 = Date.now();
    await sleep(WINDOW_MS);
    const cpu1 = Number(show('CPUUsageNSec'));
    const seconds = (Date.now() - t0) / 1000;
    const changes = trace.sets(gpio).length;
    const steps = (seconds * 1000) / stepMs;
    const cpuMs = (cpu1 - cpu0) / 1e6;
    rows.push({
      backend,
      stepMs,
      stepsPerS: Math.round(steps / seconds),
      changesPerS: Math.round(changes / seconds),
      reached: Number((changes / steps).toFixed(2)),
      cpuMsPerChange: changes === 0 ? null : Number((cpuMs / changes).toFixed(3)),
      cpuMsPerStep: Number((cpuMs / steps).toFixed(3)),
    });
    stop();
    console.log(JSON.stringify(rows.at(-1)));
  }
}
writeFileSync(`${OUT}/bench-led.json`, JSON.stringify({ kernel: (await import('node:os')).release(), arch: process.arch, windowMs: WINDOW_MS, rows }, null, 2));
