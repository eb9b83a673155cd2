// The version a build carries: package.json's, then "+<commits>.g<short sha>"
// (so that every commit gives a new version, and a later commit a higher one,
// as dpkg compares versions: 0.1.0+413.g1a2b3c4 > 0.1.0+412.g47e54f4), then,
// when the work tree has changes git would show (untracked files included),
// ".dirty<UTC yyyymmddHHMMSS>": a build of uncommitted changes sorts above
// its commit's own build and below the next commit's, and two such builds
// differ. Outside a git work tree (an unpacked release): package.json's
// version alone, commit "unknown".
//
//   node scripts/build/version.mjs [--json]     prints the version (or {version, commit})
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

function git(args, repo) {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

/** { version, commit } of the checkout at `repo`; `now` names the time of a dirty build. */
export function buildVersion(repo = REPO, now = new Date()) {
  // Set by scripts/package/build.sh, which works the version out once: the package and its bundle say the same.
  if (process.env.ASYNCDEMO_VERSION && process.env.ASYNCDEMO_COMMIT) return { version: process.env.ASYNCDEMO_VERSION, commit: process.env.ASYNCDEMO_COMMIT };
  const base = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version;
  let commit;
  let count;
  let dirty;
  try {
    commit = git(['rev-parse', 'HEAD'], repo);
    count = git(['rev-list', '--count', 'HEAD'], repo);
    dirty = git(['status', '--porcelain'], repo) !== '';
  } catch {
    return { version: base, commit: 'unknown' };
  }
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return { version: `${base}+${count}.g${commit.slice(0, 7)}${dirty ? `.dirty${stamp}` : ''}`, commit };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const info = buildVersion();
  console.log(process.argv.includes('--json') ? JSON.stringify(info) : info.version);
}
