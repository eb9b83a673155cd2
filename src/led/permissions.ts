import { statSync } from 'node:fs';
import { groupName, userName } from '../accounts.js';

export const GPIO_GROUP_FIX = 'add the service user to the gpio group (sudo usermod -aG gpio $USER, then log in again; the systemd unit has SupplementaryGroups=gpio)';

/** The udev rule Raspberry Pi OS has for the GPIO character devices (raspberrypi-sys-mods). */
export const GPIO_UDEV_RULE = 'SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"';

/** Who owns `path` and its mode, by name where /etc/group and /etc/passwd say: root:gpio, mode 0660. */
function describeOwner(path: string): { owner: string; group: string; mode: string } | undefined {
  try {
    const stat = statSync(path);
    return { owner: userName(stat.uid), group: groupName(stat.gid), mode: (stat.mode & 0o7777).toString(8).padStart(4, '0') };
  } catch {
    return undefined;
  }
}

/**
 * The reason and the fix when the GPIO files at `paths` cannot be used: the
 * user is missing from the gpio group, or (plain Debian) the files belong to
 * root alone because no udev rule hands them to the gpio group.
 */
export function permissionProblem(paths: readonly string[], verb: 'open' | 'write', otherFix: string): { reason: string; fix: string } {
  const first = paths[0] ?? '';
  const owner = describeOwner(first);
  const reason = `no permission to ${verb} ${paths.join(', ')}${owner === undefined ? '' : ` (owner ${owner.owner}:${owner.group}, mode ${owner.mode})`}`;
  if (owner === undefined || owner.group === 'gpio') return { reason, fix: GPIO_GROUP_FIX };
  return { reason, fix: otherFix };
}
