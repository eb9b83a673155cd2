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
  interface PinoRollStream extends EventEmitter {
    readonly file: string;
    write(data: string): boolean;
    flushSync(): void;
    flush(cb?: (err?: Error) => void): void;
    end(): void;
  }
  export default function pinoRoll(options: PinoRollOptions): Promise<PinoRollStream>;
}
