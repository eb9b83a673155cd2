import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { sdNotifyFix } from '../../src/systemd/sd-notify.js';
import { ROOT, tempDir } from './daemon.js';

/**
 * What a test that needs the daemon's sd-notify binding gets when the binding
 * was not built here (npm ci skips the optional package when libsystemd-dev or
 * a C++ compiler is missing, as on a fresh Debian): `{ skip: one line naming
 * what is missing and how to get it }`. Under CI=true the test runs instead and
 * fails at once with that line ({@link assertSdNotifyBinding}): CI installs
 * what it needs, and a missing binding there is a broken CI.
 */
export function needsSdNotifyBinding(): { skip: string | false } {
  const missing = sdNotifyBindingMissing();
  return { skip: missing !== undefined && process.env['CI'] !== 'true' ? missing : false };
}

/** Why the binding cannot be loaded here, as one line with the fix; undefined when it can. */
export function sdNotifyBindingMissing(): string | undefined {
  try {
    createRequire(join(ROOT, 'package.json'))('sd-notify/build/Release/notify.node');
    return undefined;
  } catch {
    return `needs the sd-notify binding, which npm ci did not build here (it needs libsystemd-dev and a C++ compiler): ${sdNotifyFix(ROOT, true)}`;
  }
}

/** Fails a test at once when the binding is missing (under CI=true, where such tests are not skipped). */
export function assertSdNotifyBinding(): void {
  const missing = sdNotifyBindingMissing();
  if (missing !== undefined) throw new Error(missing);
}
import { Arrivals } from './wait.js';

/** One datagram systemd would have received, in the order they came. */
export interface NotifyMessage {
  readonly fields: Record<string, string>;
  readonly text: string;
  /** The sending process (SO_PASSCRED, as systemd itself tells them apart): the daemon, or a child of it. */
  readonly pid: number;
}

// Node has no AF_UNIX datagram sockets; a few lines of Python stand in for systemd's end.
const LISTENER = `
import json, socket, struct, sys
CREDS = struct.Struct("iII")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print(json.dumps({"ready": True}), flush=True)
while True:
    data, ancillary, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(CREDS.size))
    pid = -1
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = CREDS.unpack(payload[: CREDS.size])[0]
    print(json.dumps({"pid": pid, "text": data.decode(errors="replace")}), flush=True)
`;

export interface NotifyListener {
  readonly socket: string;
  readonly messages: NotifyMessage[];
  /** Resolves with the first message (past or future) that matches; rejects after `timeoutMs`. */
  waitFor(match: (m: NotifyMessage) => boolean, timeoutMs?: number, what?: string): Promise<NotifyMessage>;
  close(): void;
}

/** A NOTIFY_SOCKET that records what is sent to it. */
export async function listenForNotify(): Promise<NotifyListener> {
  const socket = join(tempDir('asyncdemo-notify-'), 'notify.sock');
  const child: ChildProcess = spawn('python3', ['-c', LISTENER, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  const arrivals = new Arrivals<NotifyMessage>((messages) => `got ${JSON.stringify(messages.map((m) => m.text))}`);
  let buffer = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const record = JSON.parse(buffer.slice(0, newline)) as { ready?: boolean; pid: number; text: string };
      buffer = buffer.slice(newline + 1);
      if (record.ready === true) {
        onReady();
        continue;
      }
      const fields = Object.fromEntries(record.text.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      arrivals.push({ pid: record.pid, text: record.text, fields });
    }
  });
  await ready;
  return {
    socket,
    messages: arrivals.items,
    waitFor: (match, timeoutMs = 10_000, what = 'a matching message') => arrivals.waitFor(match, timeoutMs, what),
    close: () => child.kill(),
  };
}
