import pino from 'pino';
import type { Logger } from '../../src/log/logger.js';

export interface LogRecord {
  level: number;
  msg: string;
  task?: string;
  step?: number;
  [key: string]: unknown;
}

/** A real pino logger whose lines are parsed into objects, as pino's own tests do (test/helper.js). */
export function createSinkLogger(level = 'trace'): { logger: Logger; records: LogRecord[]; lines: () => string[] } {
  const records: LogRecord[] = [];
  const logger = pino(
    { level, base: undefined, timestamp: false },
    {
      write(line: string) {
        records.push(JSON.parse(line) as LogRecord);
      },
    },
  );
  return {
    logger,
    records,
    /** `task[step] msg` for each record, the way the journal lines read. */
    lines: () => records.map((r) => (r.task === undefined ? r.msg : r.step === undefined ? `${r.task}: ${r.msg}` : `${r.task}[${r.step}] ${r.msg}`)),
  };
}
