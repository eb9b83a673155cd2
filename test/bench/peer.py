"""The Python asyncio peers of the benchmarks: the same workloads, written the way the tutorial
(README.md, "The tutorial's scenarios") writes them, and (with --expert) the way an expert would.

Each task is a coroutine that logs with `logging` and waits with `asyncio.sleep`, started with
`asyncio.ensure_future` on a loop that runs forever, as in the tutorial's asynctest.py. The
loop is deliberately naive (sleep P after the work, no absolute deadlines): that is the
tutorial's code, and its drift is part of what the benchmark compares. Logging uses the
tutorial's format plus `%(created)f`, so the harness gets sub-millisecond times, to a file
(`logging.basicConfig(filename=...)`), which flushes every line as the tutorial's does.

With --expert, the same coroutines run on uvloop (Debian's python3-uvloop) and sleep to
absolute deadlines on loop.time(), as asyncdemo does: a periodic task does not drift by the time
its own steps take, and one that wakes more than a whole period late starts a new schedule from
now instead of firing a burst of missed steps.

Like asyncdemo it says READY=1 on $NOTIFY_SOCKET once its tasks have started, and on SIGTERM
cancels every task (each logs its cancellation), flushes the log and exits 0.

    python3 peer.py MODE --log FILE [options]

Modes: lateness, drift, demo, sleepers, heartbeat, periodic (see the functions below), and
lograte (lines per second to a rotating file, printed as JSON).
Standard library only, and uvloop with --expert.
"""
import argparse
import asyncio
import json
import logging
import logging.handlers
import os
import signal
import socket
import sys
import time

# The tutorial's format, with the precise time the harness reads added after asctime.
FORMAT = "%(asctime)s %(created)f %(filename)s:%(lineno)d %(message)s"
LOG = logging.getLogger("")

# Set by main(): whether sleeps go to absolute deadlines (--expert).
EXPERT = False


class Pacer:
    """How a periodic task waits: the tutorial's sleep after the work, or an absolute deadline."""

    def __init__(self, period):
        self.period = period
        self.loop = asyncio.get_running_loop()
        self.deadline = self.loop.time()

    async def wait(self):
        if not EXPERT:
            await asyncio.sleep(self.period)
            return
        self.deadline += self.period
        now = self.loop.time()
        if now - self.deadline > self.period:
            self.deadline = now + self.period
        await asyncio.sleep(self.deadline - now)


async def ticker(name, period):
    """One task of the lateness workload: a line, then sleep P, forever."""
    pace = Pacer(period)
    try:
        while True:
            LOG.info("%s tick", name)
            await pace.wait()
    except asyncio.CancelledError:
        LOG.info("%s cancelled", name)
        raise


async def idler(period):
    """The CPU workload's quiet task: a sleep of P, forever, and nothing else."""
    pace = Pacer(period)
    while True:
        await pace.wait()


async def drifter(count, period):
    """The drift workload: count times a line and a sleep, then a last line."""
    pace = Pacer(period)
    try:
        for _ in range(count):
            LOG.info("drift tick")
            await pace.wait()
        LOG.info("drift finished")
    except asyncio.CancelledError:
        LOG.info("drift cancelled")
        raise


async def sleeper(name):
    """The memory and stop workloads: a task asleep for an hour."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        LOG.info("%s cancelled", name)
        raise


async def operationsub():
    LOG.info("start operationsub")
    LOG.info("operationsub10")
    await asyncio.sleep(1)
    LOG.info("operationsub11")


async def operation():
    """asyncdemo's default config, as the tutorial's scenario 2 in a loop."""
    sub = None
    try:
        while True:
            LOG.info("start operation")
            if sub is None or sub.done():  # asyncdemo runs a task at most once at a time
                sub = asyncio.ensure_future(operationsub())
            LOG.info("operation1")
            await asyncio.sleep(0.2)
            LOG.info("operation2")
            await asyncio.sleep(3)
            LOG.info("operation3")
    except asyncio.CancelledError:
        LOG.info("operation cancelled")
        raise


async def heartbeat():
    """The default config's quiet task: sleep 10 s, a debug line (filtered out at info)."""
    try:
        while True:
            await asyncio.sleep(10)
            LOG.debug("still here")
    except asyncio.CancelledError:
        LOG.info("heartbeat cancelled")
        raise


def notify(message):
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    if path.startswith("@"):
        path = "\0" + path[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(message.encode(), path)


def run(coroutines):
    if EXPERT:
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    tasks = [asyncio.ensure_future(c) for c in coroutines]

    async def shutdown():
        for t in asyncio.all_tasks():
            if t is not asyncio.current_task():
                t.cancel()
        await asyncio.gather(*(t for t in asyncio.all_tasks() if t is not asyncio.current_task()), return_exceptions=True)
        loop.stop()

    loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(shutdown()))
    # Scheduled after the tasks' first steps, so READY=1 means every task has started, as in asyncdemo.
    loop.call_soon(notify, "READY=1")
    loop.run_forever()
    loop.close()
    logging.shutdown()
    del tasks


def lograte(lines, directory):
    """Lines per second through logging to a rotating file, in bursts of 1,000 per loop turn."""
    handler = logging.handlers.RotatingFileHandler(os.path.join(directory, "peer.log"), maxBytes=10 * 2**20, backupCount=5)
    handler.setFormatter(logging.Formatter(FORMAT))
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)

    async def writer():
        start = time.perf_counter()
        for i in range(0, lines, 1000):
            for j in range(i, i + 1000):
                LOG.info("operation1 line %d", j)
            await asyncio.sleep(0)
        return lines / (time.perf_counter() - start)

    rate = asyncio.run(writer())
    logging.shutdown()
    print(json.dumps({"rate": rate}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["lateness", "drift", "demo", "sleepers", "heartbeat", "periodic", "lograte"])
    parser.add_argument("--log", help="log file (lograte: a directory)", required=True)
    parser.add_argument("--tasks", type=int, default=1)
    parser.add_argument("--period", type=float, default=1.0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--quiet", action="store_true", help="periodic: sleep only, no line")
    parser.add_argument("--expert", action="store_true", help="uvloop and absolute deadlines")
    args = parser.parse_args()
    global EXPERT
    EXPERT = args.expert

    if args.mode == "lograte":
        lograte(args.lines, args.log)
        return
    logging.basicConfig(level=logging.INFO, format=FORMAT, filename=args.log)
    if args.mode == "lateness":
        run(ticker(f"t{i}", args.period) for i in range(args.tasks))
    elif args.mode == "drift":
        run([drifter(args.count, args.period)])
    elif args.mode == "demo":
        run([operation(), heartbeat()])
    elif args.mode == "sleepers":
        run(sleeper(f"s{i}") for i in range(args.tasks))
    elif args.mode == "heartbeat":
        run([heartbeat()])
    elif args.mode == "periodic":
        run([idler(args.period) if args.quiet else ticker("t0", args.period)])


if __name__ == "__main__":
    sys.exit(main())
