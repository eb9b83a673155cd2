// What scripts/build/docs.mjs bundles: the table and the writers of the man pages and completion.
export { COMMANDS } from '../../src/commands/index.js';
export { bashCompletion, configManPage, manPage } from '../../src/commands/docs.js';
