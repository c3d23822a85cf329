"""The importing process of test_bridge.py's kill test, run as
``python durable_importer.py URL STORE`` until it is killed.

It is an application that wants each message exactly once
(docs/bridge.md, "Durable import"): an inline handler, which runs before
the bridge acknowledges the message, appends one line per message to
STORE, ``<payload> <Charter-Stream-Seq> <Charter-Stream-Floor>``: its
result and its position in one write. On start it reads its position back
from STORE (the largest floor, and the sequences handled above it) and
hands it to the durable import, which then never delivers those again.
Each line also goes to stdout, so that the test sees progress."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import List, Tuple

import charter

PATTERN, STREAM, DURABLE = "dur.>", "DUR", "py-importer"


def recover(store: str) -> Tuple[int, List[int]]:
    """The position committed in `store`; a line torn by a kill is cut off."""
    with open(store, "a+b") as f:
        f.seek(0)
        data = f.read()
        end = data.rfind(b"\n") + 1
        f.truncate(end)
    lines = [line.split() for line in data[:end].decode().splitlines()]
    through = max((int(floor) for _, _, floor in lines), default=0)
    return through, [int(seq) for _, seq, _ in lines if int(seq) > through]


def main() -> None:
    url, store = sys.argv[1], sys.argv[2]
    through, handled = recover(store)
    fd = os.open(store, os.O_WRONLY | os.O_APPEND)

    def handle(message: charter.Message) -> None:
        seq = message.header("Charter-Stream-Seq")
        floor = message.header("Charter-Stream-Floor")
        line = f"{message.payload.decode()} {seq} {floor}\n".encode()
        os.write(fd, line)
        os.write(sys.stdout.fileno(), line)
        # Slow enough that the kill lands mid-stream, and most likely
        # between this commit and the acknowledgement.
        time.sleep(0.002)

    position = charter.DurableImport(
        PATTERN, STREAM, DURABLE, ack_wait=1.0, max_ack_pending=32, handled_through=through, handled=handled
    )
    with charter.Bus() as bus:
        bus.subscribe(PATTERN, handle)
        with charter.Bridge(bus, url, durable_imports=[position]):
            threading.Event().wait()


if __name__ == "__main__":
    main()
