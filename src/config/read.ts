import { isUtf8 } from 'node:buffer';
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { getSystemErrorMap } from 'node:util';
import { ConfigError } from '../errors.js';
import { describeKind } from '../safe-files.js';

/**
 * The largest config read: 128 KiB, some 3,000 lines. Hand-written YAML is a
 * few KB, and a generated config of 10,000 tasks fits when the tasks share a
 * definition through an anchor (`t1: *task`). The bound is memory: parsing
 * YAML costs about 1 KB of heap per KB in the worst case (a list of one-digit
 * numbers), and the bound for any hostile file is 100 MB in all.
 * Measured (test/integration/config-corpus.test.ts): at 128 KiB the worst
 * file peaks under 90 MB; at 256 KiB, 101.6 MB; at 1 MiB, 160 MB.
 */
export const CONFIG_MAX_BYTES = 128 * 1024;

/**
 * Reads a config file's text: only a regular file, opened without blocking,
 * at most {@link CONFIG_MAX_BYTES}, and only UTF-8. A FIFO, a device such as
 * /dev/zero, a directory or an oversized file is refused before a byte of it
 * is read, so whatever sits at the path costs neither time nor memory.
 *
 * @throws {ConfigError} saying what the file is and what a config must be.
 */
export function readConfigFile(file: string): string {
  const refuse = (reason: string, cause?: unknown): ConfigError => new ConfigError(file, [{ path: '', reason }], cause === undefined ? undefined : { cause });
  // stat first, so a device or FIFO is not even opened (opening some devices does something)...
  try {
    checkKind(statSync(file));
  } catch (error) {
    if (error instanceof KindError) throw refuse(error.message);
    throw refuse(`cannot read the file: ${errnoText(error)}`, error);
  }
  let fd: number;
  try {
    // ...and O_NONBLOCK, in case it was swapped for a FIFO since: opening a FIFO would wait for a writer.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw refuse(`cannot read the file: ${errnoText(error)}`, error);
  }
  let bytes: Buffer;
  try {
    // fstat of what was opened is what counts: the path may have changed since the stat.
    checkKind(fstatSync(fd));
    bytes = readAtMost(fd, CONFIG_MAX_BYTES + 1);
  } catch (error) {
    if (error instanceof KindError) throw refuse(error.message);
    throw refuse(`cannot read the file: ${errnoText(error)}`, error);
  } finally {
    closeSync(fd);
  }
  // A file can grow between the fstat and the read, and /proc files say size 0: the bytes read decide.
  if (bytes.length > CONFIG_MAX_BYTES) throw refuse(tooBig(`more than ${CONFIG_MAX_BYTES} bytes`));
  const decoded = decodeUtf8(bytes);
  if (typeof decoded !== 'string') throw new ConfigError(file, [{ path: '', reason: decoded.reason, ...(decoded.line === undefined ? {} : { line: decoded.line }) }]);
  return decoded;
}

class KindError extends Error {}

function checkKind(stats: Stats): void {
  if (!stats.isFile()) throw new KindError(`it is ${describeKind(stats)}, not a regular file; a config must be a regular file`);
  if (stats.size > CONFIG_MAX_BYTES) throw new KindError(tooBig(`${stats.size} bytes`));
}

function tooBig(size: string): string {
  return `the file is too big (${size}); a config may be at most ${CONFIG_MAX_BYTES / 1024} KiB (${CONFIG_MAX_BYTES} bytes)`;
}


/** Reads until the end of the file or `limit` bytes, whichever comes first. */
function readAtMost(fd: number, limit: number): Buffer {
  let buffer = Buffer.allocUnsafe(Math.min(limit, 64 * 1024));
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length >= limit) break;
      const bigger = Buffer.allocUnsafe(Math.min(limit, buffer.length * 2));
      buffer.copy(bigger, 0, 0, length);
      buffer = bigger;
    }
    const read = readSync(fd, buffer, length, buffer.length - length, null);
    if (read === 0) break;
    length += read;
  }
  return buffer.subarray(0, length);
}

const BOMS: readonly { readonly bytes: readonly number[]; readonly name: string }[] = [
  // UTF-32 first: its little-endian mark starts with UTF-16's.
  { bytes: [0xff, 0xfe, 0x00, 0x00], name: 'UTF-32 (little-endian)' },
  { bytes: [0x00, 0x00, 0xfe, 0xff], name: 'UTF-32 (big-endian)' },
  { bytes: [0xff, 0xfe], name: 'UTF-16 (little-endian)' },
  { bytes: [0xfe, 0xff], name: 'UTF-16 (big-endian)' },
];
const CONVERT = 'save it as UTF-8 (e.g. iconv -t UTF-8)';

/** The text of UTF-8 bytes (a UTF-8 byte order mark is dropped), or why they are not UTF-8 text. */
function decodeUtf8(bytes: Buffer): string | { reason: string; line?: number } {
  for (const bom of BOMS) {
    if (bom.bytes.every((b, i) => bytes[i] === b)) return { reason: `the file's encoding is ${bom.name}, not UTF-8; ${CONVERT}` };
  }
  const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  if (!isUtf8(body)) {
    const { line, byte } = firstInvalid(body);
    return { reason: `the file's encoding is not UTF-8: byte 0x${byte.toString(16).padStart(2, '0')} is not valid UTF-8; ${CONVERT}`, line };
  }
  const nul = body.indexOf(0);
  if (nul >= 0) {
    const line = lineAtByte(body, nul);
    return { reason: `the file holds a NUL byte: it is binary, or UTF-16 without a byte order mark, not UTF-8 text; ${CONVERT}`, line };
  }
  return body.toString('utf8');
}

function lineAtByte(bytes: Buffer, offset: number): number {
  let line = 1;
  for (let i = bytes.indexOf(10); i >= 0 && i < offset; i = bytes.indexOf(10, i + 1)) line++;
  return line;
}

/**
 * Where the first byte that is not UTF-8 is. Up to it every byte decodes as
 * it should, so offsets can be counted from the decoded characters; a
 * replacement character there that the file does not spell out is the spot.
 */
function firstInvalid(bytes: Buffer): { line: number; byte: number } {
  const text = bytes.toString('utf8');
  let offset = 0;
  let line = 1;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code === 0xfffd && !(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) break;
    if (code === 10) line++;
    offset += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return { line, byte: bytes[offset] ?? 0 };
}

/** `ENOENT (no such file or directory)`: Node's message repeats the path, which the report names already. */
function errnoText(error: unknown): string {
  const { code, errno, message } = error as NodeJS.ErrnoException;
  if (code === undefined) return message;
  const what = errno === undefined ? undefined : getSystemErrorMap().get(errno)?.[1];
  return what === undefined ? code : `${code} (${what})`;
}
