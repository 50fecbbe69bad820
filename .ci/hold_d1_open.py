#!/usr/bin/env python3
"""Holds the local D1 database open while `make dev` serves, until its parent exits.

The local D1 is an SQLite file in WAL mode, and the last connection to close a WAL
database checkpoints it under an exclusive lock. The dev server closes its file ~10 s
after its last request; an operator's `gatehouse-cli admin … --local` (a wrangler of its
own on the same file) is then the last to close, and a request arriving in that moment
was answered SQLITE_BUSY, a 500. With a connection held here no other is ever the last
(tests/src/d1_file.rs, hold_open, does the same for every test's worker).

Usage: hold_d1_open.py PERSIST_DIR (wrangler's state directory, `.wrangler/state`).
"""

import glob
import os
import signal
import sqlite3
import sys
import time


def main() -> int:
    # Ctrl-C in `make dev` reaches the whole process group: the server's end (the
    # parent's) is what ends this, quietly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    persist = sys.argv[1] if len(sys.argv) > 1 else ".wrangler/state"
    pattern = os.path.join(persist, "v3/d1/miniflare-D1DatabaseObject/*.sqlite")
    files = [f for f in glob.glob(pattern) if os.path.basename(f) != "metadata.sqlite"]
    held = []
    for path in files:
        db = sqlite3.connect(path, isolation_level=None)
        # Reading the journal mode reads the file: from here the connection counts.
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            print(f"hold_d1_open: {path} is in journal mode {mode}, not held", file=sys.stderr)
            db.close()
            continue
        held.append(db)
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
