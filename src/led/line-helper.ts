/**
 * The GPIO character device from Node, which has no ioctl(): a small python3
 * program speaks the kernel's GPIO uAPI v2 for it.
 *
 * Why a helper, and why this one. Node cannot issue ioctls without a native
 * addon, and asyncdemo already needs python3 (node-gyp; Raspberry Pi OS always
 * has it). Up to 0.1 the LED ran one libgpiod `gpioset` per change, because
 * Debian's gpioset 2.2 has no interactive mode: on an emulated arm64 that made
 * 8 of 15 changes in 3 s, and each change cost a process start (figures in
 * src/README.md, "The GPIO character device, through a helper"). Now one long-lived helper
 * holds the line request and takes each value as one byte on its stdin: a
 * change is a pipe write and an ioctl. It talks to the kernel directly
 * rather than through the python3-libgpiod bindings, whose 1.6 (bookworm) and
 * 2.x (trixie) APIs differ and which would be one more package: the v2 uAPI
 * is the stable interface both libgpiod versions sit on, in every kernel
 * since 5.10 (every Raspberry Pi OS since bullseye), and its structures have
 * one layout on 32- and 64-bit kernels, so the same offsets serve armhf,
 * arm64 and x86.
 *
 * The helper ignores SIGTERM, SIGINT and SIGHUP: systemd's stop and a
 * terminal's Ctrl-C reach the whole process group, and the daemon must still
 * be able to drive the LED off. It ends when its stdin closes (the daemon
 * released the line, or died): it drives the line off, releases it and
 * exits 0, so even a daemon killed with SIGKILL leaves the LED off. Exit 0
 * is the proof that every value, the final off included, reached the kernel.
 *
 * Commands: `detect DEVDIR` prints one JSON line per /dev/gpiochipN (its
 * name, label and line count, or why it cannot be opened); `hold DEVICE
 * OFFSET ACTIVE_LOW CONSUMER` requests the line as an output, off, then sets
 * it to each '0' or '1' read from stdin.
 */
const LINE_HELPER = String.raw`
import errno, fcntl, json, os, re, signal, stat, struct, sys

# <linux/gpio.h>, uAPI v2. Offsets are those of the C structures, which have
# no implicit padding and the same layout on 32- and 64-bit kernels.
def ioc(direction, number, size):
    return (direction << 30) | (size << 16) | (0xB4 << 8) | number

CHIPINFO = struct.Struct("=32s32sI")   # struct gpiochip_info: name, label, lines
GET_CHIPINFO = ioc(2, 0x01, CHIPINFO.size)
# struct gpio_v2_line_request: offsets[64], consumer[32], config, num_lines,
# event_buffer_size, padding[5], fd; its config: flags, num_attrs, padding[5],
# attrs[10] of {id, padding, value, mask}.
REQUEST_SIZE = 592
OFF_CONSUMER = 256
OFF_CONFIG_FLAGS = 288
OFF_CONFIG_ATTRS = 320
OFF_NUM_LINES = 560
OFF_FD = 588
GET_LINE = ioc(3, 0x07, REQUEST_SIZE)
VALUES = struct.Struct("=QQ")          # struct gpio_v2_line_values: bits, mask
SET_VALUES = ioc(3, 0x0F, VALUES.size)
FLAG_ACTIVE_LOW = 1 << 1
FLAG_OUTPUT = 1 << 3
ATTR_OUTPUT_VALUES = 2

def fail(code, error):
    name = errno.errorcode.get(error.errno, "E?") if isinstance(error, OSError) else "EINVAL"
    sys.stderr.write("%s: %s\n" % (name, error.strerror if isinstance(error, OSError) else error))
    sys.exit(code)

def open_chip(path):
    # Not through a link, not waiting on a FIFO planted there, and only a character device.
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISCHR(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.ENODEV, "not a character device")
    return fd

def chip_info(path):
    fd = open_chip(path)
    try:
        info = bytearray(CHIPINFO.size)
        fcntl.ioctl(fd, GET_CHIPINFO, info, True)
        name, label, lines = CHIPINFO.unpack(info)
        return {"name": name.split(b"\0")[0].decode(), "label": label.split(b"\0")[0].decode(), "lines": lines}
    finally:
        os.close(fd)

def detect(devdir):
    for entry in sorted(os.listdir(devdir)):
        if not re.fullmatch(r"gpiochip[0-9]+", entry):
            continue
        device = os.path.join(devdir, entry)
        try:
            found = dict(device=device, **chip_info(device))
        except OSError as error:
            found = {"device": device, "error": errno.errorcode.get(error.errno, "E?"), "message": error.strerror}
        sys.stdout.write(json.dumps(found) + "\n")

def request(device, offset, active_low, consumer):
    chip = open_chip(device)
    try:
        req = bytearray(REQUEST_SIZE)
        struct.pack_into("=I", req, 0, offset)                                         # offsets[0]
        struct.pack_into("=32s", req, OFF_CONSUMER, consumer.encode()[:31])
        flags = FLAG_OUTPUT | (FLAG_ACTIVE_LOW if active_low else 0)
        struct.pack_into("=QI", req, OFF_CONFIG_FLAGS, flags, 1)                       # config: flags, num_attrs
        struct.pack_into("=IIQQ", req, OFF_CONFIG_ATTRS, ATTR_OUTPUT_VALUES, 0, 0, 1)  # attrs[0]: line 0 starts at 0, off
        struct.pack_into("=I", req, OFF_NUM_LINES, 1)
        fcntl.ioctl(chip, GET_LINE, req, True)
        return struct.unpack_from("=i", req, OFF_FD)[0]                                # the request's own fd
    finally:
        os.close(chip)

def hold(device, offset, active_low, consumer):
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    try:
        line = request(device, offset, active_low, consumer)
    except OSError as error:
        fail(2, error)
    values = bytearray(VALUES.size)
    current = 0
    def drive(value):
        VALUES.pack_into(values, 0, value, 1)
        fcntl.ioctl(line, SET_VALUES, values, True)
    try:
        while True:
            chunk = os.read(0, 4096)
            if not chunk:
                break
            for byte in chunk:
                if byte in (0x30, 0x31):
                    current = byte - 0x30
                    drive(current)
        if current:
            drive(0)
        os.close(line)
    except OSError as error:
        fail(3, error)

def abi():
    # What the helper assumes of <linux/gpio.h>, for the test that compares it with the C header.
    names = ("GET_CHIPINFO", "GET_LINE", "SET_VALUES", "REQUEST_SIZE", "OFF_CONSUMER", "OFF_CONFIG_FLAGS",
             "OFF_CONFIG_ATTRS", "OFF_NUM_LINES", "OFF_FD", "FLAG_ACTIVE_LOW", "FLAG_OUTPUT", "ATTR_OUTPUT_VALUES")
    abi = {name: globals()[name] for name in names}
    abi.update(CHIPINFO_SIZE=CHIPINFO.size, VALUES_SIZE=VALUES.size)
    sys.stdout.write(json.dumps(abi) + "\n")

command = sys.argv[1] if len(sys.argv) > 1 else ""
if command == "abi":
    abi()
elif command == "detect" and len(sys.argv) == 3:
    detect(sys.argv[2])
elif command == "hold" and len(sys.argv) == 6:
    hold(sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5])
else:
    fail(64, "usage: detect DEVDIR | hold DEVICE OFFSET ACTIVE_LOW CONSUMER | abi")
`;

/** How python3 runs the helper: isolated from PYTHON* variables and user site-packages, no site import (faster). */
export function lineHelperArgs(args: readonly string[]): string[] {
  return ['-I', '-S', '-c', LINE_HELPER, ...args];
}
