#!/usr/bin/env python3
"""Send QMP commands to QEMU one by one and wait for each answer.

Usage: qmp.py SOCKET TIMEOUT_SECONDS COMMAND_JSON...
Fails (exit 1) with QEMU's error text if a command returns an error, or if
no answer comes within the timeout. "quit" may close the socket at once.
"""
import json
import socket
import sys
import time


def read_message(stream, deadline):
    """Next non-event message; None if QEMU closed the connection."""
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError("no answer from QEMU in time")
        line = stream.readline()
        if not line:
            return None
        message = json.loads(line)
        if "event" in message:
            print(f"qmp event: {message['event']}", file=sys.stderr)
            continue
        return message


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, timeout = sys.argv[1], float(sys.argv[2])
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    deadline = time.monotonic() + 30
    while True:
        try:
            sock.connect(path)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    stream = sock.makefile("rw")
    greeting = read_message(stream, time.monotonic() + timeout)
    if not greeting or "QMP" not in greeting:
        print(f"unexpected QMP greeting: {greeting}", file=sys.stderr)
        return 1
    for text in ['{"execute": "qmp_capabilities"}'] + sys.argv[3:]:
        command = json.loads(text)
        started = time.monotonic()
        stream.write(json.dumps(command) + "\n")
        stream.flush()
        try:
            answer = read_message(stream, started + timeout)
        except (ConnectionResetError, socket.timeout) as error:
            if command["execute"] == "quit":
                return 0
            print(f"{command['execute']}: {error}", file=sys.stderr)
            return 1
        if answer is None:
            if command["execute"] == "quit":
                return 0
            print(f"QEMU closed the connection during {command['execute']}", file=sys.stderr)
            return 1
        if "error" in answer:
            print(f"{command['execute']} failed: {answer['error']}", file=sys.stderr)
            return 1
        print(f"qmp: {command['execute']} ok ({time.monotonic() - started:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
