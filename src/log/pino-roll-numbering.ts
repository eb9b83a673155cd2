import { createRequire } from 'node:module';
import { basename, dirname } from 'node:path';
import pinoRollUtils from 'pino-roll/lib/utils.js';
import { startNumber } from './log-numbers.js';

// See pino-roll.ts. Replaced before pino-roll.js reads it: a pino-roll loaded
// earlier would keep its own rule, so that is refused loudly.
const loadedAlready = (() => {
  try {
    const load = createRequire(import.meta.url);
    // An ES module's import puts the CommonJS module in the cache before it runs it: `loaded` tells.
    return load.cache[load.resolve('pino-roll')]?.loaded === true;
  } catch {
    // In the bundle there is no require.cache to ask, and esbuild keeps the import order.
    return false;
  }
})();
if (loadedAlready) throw new Error('pino-roll was loaded before asyncdemo set its log numbering (import it through src/log/pino-roll.ts only)');

/** pino-roll's detectLastNumber(file, time, extension), with asyncdemo's rule. */
pinoRollUtils.detectLastNumber = async (file: string | (() => string)): Promise<number> => {
  const path = typeof file === 'function' ? file() : file;
  try {
    return startNumber(dirname(path), basename(path));
  } catch {
    return 1;
  }
};
