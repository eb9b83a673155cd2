import { fstatSync } from 'node:fs';

/**
 * True when `fd` is the stream systemd connected to the journal. systemd.exec(5):
 * `JOURNAL_STREAM` holds the device and inode of that stream; a process must
 * compare them with its own stdout/stderr, because the variable is inherited
 * by children whose output may have been redirected elsewhere.
 */
export function isJournalStream(fd: number, journalStream: string | undefined): boolean {
  if (journalStream === undefined) return false;
  const match = /^(\d+):(\d+)$/.exec(journalStream);
  if (match?.[1] === undefined || match[2] === undefined) return false;
  try {
    const stat = fstatSync(fd, { bigint: true });
    return stat.dev === BigInt(match[1]) && stat.ino === BigInt(match[2]);
  } catch {
    return false;
  }
}
