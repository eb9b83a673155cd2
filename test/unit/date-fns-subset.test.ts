import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/daemon.js';

// The bundle's stand-in for date-fns (scripts/build/date-fns-subset.cjs),
// checked against date-fns itself, which pino-roll depends on.
interface DateFns {
  format(date: Date | number, pattern: string): string;
  parse(text: string, pattern: string, reference: Date): Date;
  isValid(date: unknown): boolean;
  addDays(date: Date | number, amount: number): Date;
  addHours(date: Date | number, amount: number): Date;
}
const load = createRequire(join(ROOT, 'package.json'));
const subset = load('./scripts/build/date-fns-subset.cjs') as DateFns;
const dateFns = load('date-fns') as DateFns;

const PATTERNS = ['yyyy-MM-dd', 'yyyy-MM-dd-HH'];
// Every hour across two years, a leap day and the turns of the years among them.
const DATES = Array.from({ length: 2 * 366 * 24 }, (_, i) => new Date(2027, 0, 1, i));

describe("the bundle's date-fns subset", () => {
  it('formats like date-fns', () => {
    for (const pattern of PATTERNS) for (const date of DATES) assert.equal(subset.format(date, pattern), dateFns.format(date, pattern));
  });

  it('parses like date-fns, valid and not', () => {
    const reference = new Date();
    const texts = ['27-03-04', '0027-03-04', '2028-02-29', '2027-02-29', '2027-13-01', '2027-00-10', '2027-12-31', '2027-12-31-23', '2027-12-31-24', 'current', '2027-1-1', '2027-01-01.1', '', '2027-06-15-07', '2027-03-28-02', '2027-10-31-02', '2027-03-14-02'];
    for (const pattern of PATTERNS) {
      for (const text of [...texts, ...DATES.slice(0, 500).map((d) => dateFns.format(d, pattern))]) {
        const mine = subset.parse(text, pattern, reference);
        const theirs = dateFns.parse(text, pattern, reference);
        assert.equal(subset.isValid(mine), dateFns.isValid(theirs), `${text} as ${pattern}`);
        if (dateFns.isValid(theirs)) assert.equal(mine.getTime(), theirs.getTime(), `${text} as ${pattern}`);
      }
    }
  });

  // Time zones with a daylight-saving change of an hour at night (Europe, North America), at
  // midnight (Santiago, where a day has no 00:00), of half an hour (Lord Howe), on the other
  // side of the date line (Chatham, +12:45/+13:45), and none at all (UTC, Kolkata).
  const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'America/Santiago', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Asia/Kolkata'];

  it('adds days and hours like date-fns, across daylight saving changes too, in time zones that have them', () => {
    const saved = process.env['TZ'];
    try {
      for (const zone of ZONES) {
        // Node applies a new TZ at once: local dates below are this zone's.
        process.env['TZ'] = zone;
        const offsets = new Set(Array.from({ length: 12 }, (_, month) => new Date(2027, month, 15).getTimezoneOffset()));
        assert.equal(offsets.size, zone === 'UTC' || zone === 'Asia/Kolkata' ? 1 : 2, `${zone} is in force (offsets ${[...offsets].join(', ')})`);
        const dates = Array.from({ length: 2 * 366 * 24 }, (_, i) => new Date(2027, 0, 1, i));
        for (const date of dates) {
          assert.equal(subset.addDays(date, 1).getTime(), dateFns.addDays(date, 1).getTime(), `${zone} ${date.toString()} + 1 day`);
          assert.equal(subset.addHours(date.getTime(), 1).getTime(), dateFns.addHours(date.getTime(), 1).getTime(), `${zone} ${date.toString()} + 1 hour`);
        }
        for (const pattern of PATTERNS) for (const date of dates) assert.equal(subset.format(date, pattern), dateFns.format(date, pattern), `${zone} ${pattern}`);
      }
    } finally {
      if (saved === undefined) delete process.env['TZ'];
      else process.env['TZ'] = saved;
    }
    assert.equal(subset.isValid(new Date(NaN)), false);
    assert.equal(subset.isValid(Date.now()), dateFns.isValid(Date.now()));
  });

  it('refuses any other pattern instead of formatting it wrong', () => {
    assert.throws(() => subset.format(new Date(), 'yyyy-MM-dd HH:mm'), /knows only yyyy, MM, dd, HH/);
    assert.throws(() => subset.parse('2027', 'yy', new Date()), /knows only/);
  });
});
