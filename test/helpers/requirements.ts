import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';

/**
 * What a test does when this machine lacks something it needs (root, python3,
 * libfaketime, a C compiler, the sd-notify binding): on a developer's machine
 * it is skipped with one line that names what is missing and how to get it.
 * Under CI=true the lack is a failure instead: .ci/run installs everything the
 * tests need, so a skip there would be a quietly thinner CI.
 */
const CI = process.env['CI'] === 'true';

/**
 * The `skip` option of a `describe` or `it` that needs something: false when
 * nothing is missing, else the line. Under CI=true a test named for the lack is
 * registered in its place, and fails with that line.
 */
export function unlessMissing(missing: string | false | undefined): string | false {
  if (missing === undefined || missing === false) return false;
  if (CI) it(`CI=true: the machine has what these tests need (${missing})`, () => assert.fail(`CI=true and this machine lacks what a test needs: ${missing}`));
  return missing;
}

/** The same inside a running test: skips it with the line (fails it under CI=true). Returns true when it is missing. */
export function skipIfMissing(t: TestContext, missing: string | false | undefined): boolean {
  if (missing === undefined || missing === false) return false;
  if (CI) assert.fail(`CI=true and this machine lacks what this test needs: ${missing}`);
  t.skip(missing);
  return true;
}
