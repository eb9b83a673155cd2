'use strict';
// pino-roll needs five date-fns functions, but `require('date-fns')` loads
// the whole library (about 250 modules, ~100 ms and several MB on a Pi).
// The bundle points pino-roll's import here instead.
module.exports = {
  addDays: require('date-fns/addDays').addDays,
  addHours: require('date-fns/addHours').addHours,
  format: require('date-fns/format').format,
  isValid: require('date-fns/isValid').isValid,
  parse: require('date-fns/parse').parse,
};
