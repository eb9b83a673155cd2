import assert from 'node:assert/strict';
import { it } from 'node:test';
import { simChip } from './lib.js';

// The boot that decides between KVM and QEMU's emulation: it got this far, with its chip.
it('the guest boots to multi-user with the simulated Pi chip', () => {
  assert.equal(simChip('pinctrl-bcm2711').lines, 58);
});
