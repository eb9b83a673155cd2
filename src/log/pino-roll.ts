/**
 * pino-roll, as asyncdemo loads it: with its start number worked out by
 * asyncdemo's rule (log-numbers.ts), not from every `*<n>.log` in the
 * directory. pino-roll reads `detectLastNumber` from its utils when it loads,
 * so the rule is put in first (./pino-roll-numbering.js, imported before
 * pino-roll itself). The only module that imports pino-roll; the contract test
 * (test/unit/pino-roll-contract.test.ts) fails when an upgrade moves it.
 */
import './pino-roll-numbering.js';
import pinoRoll from 'pino-roll';

export { pinoRoll };
