#!/usr/bin/env python3
"""Read a Delta table with the `deltalake` + `pyarrow` packages, independent
of the Rust code under test, and print it as one JSON object:

  {"version", "rows", "files", "schema", "partition_columns",
   "configuration", "add_actions", "history", "app_transactions"}

`rows` are sorted by their canonical JSON, so output is deterministic; values
are JSON-ified (bytes -> base64, timestamps/dates -> ISO 8601, decimals ->
strings). `files` are the data file URIs, sorted. For s3:// tables the AWS_*
environment variables (endpoint, region, keys, AWS_ALLOW_HTTP) become the
storage options, the same ones the functions get.

Usage: read_delta.py URI [--version N] [--app-id ID ...]
"""

import argparse
import json
import os
import sys

from _common import plain, storage_options


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uri")
    parser.add_argument("--version", type=int, default=None)
    parser.add_argument("--app-id", action="append", default=[], dest="app_ids")
    args = parser.parse_args()

    import pyarrow as pa
    from deltalake import DeltaTable

    dt = DeltaTable(args.uri, version=args.version, storage_options=storage_options(args.uri))
    rows = [plain(r) for r in dt.to_pyarrow_table().to_pylist()]
    rows.sort(key=lambda r: json.dumps(r, sort_keys=True))
    add_actions = [plain(a) for a in pa.table(dt.get_add_actions(flatten=True)).to_pylist()]
    add_actions.sort(key=lambda a: a.get("path", ""))
    meta = dt.metadata()
    history = sorted(
        (plain(h) for h in dt.history()), key=lambda h: h.get("version", 0)
    )
    out = {
        "version": dt.version(),
        "rows": rows,
        "files": sorted(dt.file_uris()),
        "schema": json.loads(dt.schema().to_json()),
        "partition_columns": list(meta.partition_columns),
        "configuration": dict(meta.configuration),
        "add_actions": add_actions,
        "history": history,
        "app_transactions": {a: dt.transaction_version(a) for a in args.app_ids},
    }
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    sys.stdout.flush()
    # Skip interpreter teardown: the native thread pools of pyarrow and
    # deltalake can abort there ("terminate called without an active
    # exception", SIGABRT) after the output is complete.
    os._exit(0)


if __name__ == "__main__":
    main()
