import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this runs from build/test/vm/host/. */
export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** Where images, the npm cache and the VM disks of a run live: never in the repository. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['ASYNCDEMO_VM_CACHE'] ?? '/var/cache/asyncdemo-vm';
}
