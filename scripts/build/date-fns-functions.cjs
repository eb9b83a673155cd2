'use strict';
// pino-roll loads date-fns as a whole (`require('date-fns')`), which runs the
// top level of all ~250 of its modules and their locale data at every start.
// The bundle points that require here instead: date-fns's own per-function
// modules, only the five pino-roll calls, each loaded on its first call.
// addDays and addHours (the daily and hourly rotation) are bundled (esbuild
// bundles a require inside a function as a lazy module init). format, parse
// and isValid serve only pino-roll's `dateFormat`, which asyncdemo never sets:
// bundle.mjs leaves them external, loaded from node_modules if ever called,
// so their parsers and locale data (140 KB, 84 modules) are not read and
// compiled at every start. Measured in the commit that made this so.
// test/integration/build.test.ts fails when pino-roll starts calling a
// function this list does not hold.
module.exports = {
  addDays: (...args) => require('date-fns/addDays').addDays(...args),
  addHours: (...args) => require('date-fns/addHours').addHours(...args),
  format: (...args) => require('date-fns/format').format(...args),
  isValid: (...args) => require('date-fns/isValid').isValid(...args),
  parse: (...args) => require('date-fns/parse').parse(...args),
};
