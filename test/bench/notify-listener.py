"""systemd's end of sd_notify, for the benchmarks (Node has no AF_UNIX datagram sockets).

Binds the socket given as argv[1] and prints {"ready": true} once it listens, then one JSON
line per datagram: its text, the sender's pid (SO_PASSCRED, as systemd itself tells its
services apart, so one listener serves several processes at once) and its arrival on
CLOCK_MONOTONIC in nanoseconds, the clock Node's process.hrtime.bigint() reads, so the
harness can subtract its own spawn time.
"""
import json
import socket
import struct
import sys
import time

CREDS = struct.Struct("iII")  # struct ucred: pid, uid, gid

s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print(json.dumps({"ready": True}), flush=True)
while True:
    data, ancillary, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(CREDS.size))
    at = time.monotonic_ns()
    pid = None
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = CREDS.unpack(payload[: CREDS.size])[0]
    print(json.dumps({"mono_ns": at, "pid": pid, "text": data.decode(errors="replace")}), flush=True)
