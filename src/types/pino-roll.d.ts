// pino-roll ships no types; this covers the options asyncdemo passes and the
// parts of the SonicBoom stream it returns that asyncdemo uses.
declare module 'pino-roll' {
  import type { EventEmitter } from 'node:events';
  interface PinoRollOptions {
    file: string | (() => string);
    size?: string | number;
    frequency?: string | number;
    extension?: string;
    symlink?: boolean;
    limit?: { count: number; removeOtherLogFiles?: boolean };
    dateFormat?: string;
    mkdir?: boolean;
    maxLength?: number;
    minLength?: number;
    sync?: boolean;
  }
  /** sonic-boom's SonicBoom, as pino-roll returns it. */
  interface PinoRollStream extends EventEmitter {
    /** The file being written (after a failed reopen: the one that could not be opened). */
    readonly file: string;
    /** Its descriptor. */
    readonly fd: number;
    readonly destroyed: boolean;
    write(data: string): boolean;
    flushSync(): void;
    flush(cb?: (err?: Error) => void): void;
    end(): void;
    /** Closes at once, dropping what was not written. */
    destroy(): void;
  }
  export type { PinoRollStream };
  export default function pinoRoll(options: PinoRollOptions): Promise<PinoRollStream>;
}

// pino-roll's internal helpers, of which asyncdemo replaces one (src/log/pino-roll-numbering.ts).
declare module 'pino-roll/lib/utils.js' {
  const utils: {
    detectLastNumber: (file: string | (() => string), time?: number | null, extension?: string) => Promise<number>;
  };
  export default utils;
}
