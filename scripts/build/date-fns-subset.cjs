'use strict';
// pino-roll calls five date-fns functions, with the date pattern asyncdemo
// gives it (src/log/files.ts): yyyy-MM-dd for daily files, yyyy-MM-dd-HH for
// hourly ones. The bundle points pino-roll's `require('date-fns')` here
// instead of at date-fns: its format and parse bring 134 KB of locale and
// parser code that took 4 to 5 ms of every start (exec to READY 44 -> 39 ms,
// bare node 22 ms; see the README's Benchmarks). Any other pattern throws,
// so a change to the pattern cannot pass unnoticed;
// test/unit/date-fns-subset.test.ts checks these against date-fns itself.

const TOKENS = /yyyy|MM|dd|HH/g;
const SUPPORTED = /^(?:yyyy|MM|dd|HH|-)+$/;

function check(pattern) {
  if (!SUPPORTED.test(pattern)) throw new RangeError(`date pattern ${JSON.stringify(pattern)}: asyncdemo's date-fns subset knows only yyyy, MM, dd, HH and -`);
}

const pad = (n, width) => String(n).padStart(width, '0');

function toDate(value) {
  return value instanceof Date ? new Date(value.getTime()) : new Date(value);
}

function format(date, pattern) {
  check(pattern);
  const d = toDate(date);
  if (Number.isNaN(d.getTime())) throw new RangeError('Invalid time value');
  const parts = { yyyy: pad(d.getFullYear(), 4), MM: pad(d.getMonth() + 1, 2), dd: pad(d.getDate(), 2), HH: pad(d.getHours(), 2) };
  return pattern.replace(TOKENS, (token) => parts[token]);
}

/** As date-fns' parse for these patterns: a local time, or an Invalid Date when the text does not fit. */
function parse(text, pattern) {
  check(pattern);
  const tokens = pattern.match(TOKENS) ?? [];
  // As leniently as date-fns: up to 4 digits of year, 1 or 2 of the others.
  const match = new RegExp(`^${pattern.replace(/yyyy/g, '(\\d{1,4})').replace(/MM|dd|HH/g, '(\\d{1,2})')}$`).exec(text);
  if (match === null) return new Date(NaN);
  const value = { yyyy: 1970, MM: 1, dd: 1, HH: 0 };
  tokens.forEach((token, i) => (value[token] = Number(match[i + 1])));
  // setFullYear: the Date constructor would read years 0 to 99 as 1900 to 1999.
  const d = new Date(0);
  d.setFullYear(value.yyyy, value.MM - 1, value.dd);
  d.setHours(value.HH, 0, 0, 0);
  // Out-of-range fields are invalid, not carried over; an hour skipped by daylight saving is not (date-fns moves it on).
  const fits = d.getFullYear() === value.yyyy && d.getMonth() === value.MM - 1 && d.getDate() === value.dd && value.HH <= 23;
  return fits ? d : new Date(NaN);
}

function isValid(date) {
  return date instanceof Date ? !Number.isNaN(date.getTime()) : typeof date === 'number' && !Number.isNaN(date);
}

function addDays(date, amount) {
  const d = toDate(date);
  d.setDate(d.getDate() + amount);
  return d;
}

function addHours(date, amount) {
  return new Date(toDate(date).getTime() + amount * 3_600_000);
}

module.exports = { addDays, addHours, format, isValid, parse };
