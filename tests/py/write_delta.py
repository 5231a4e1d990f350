#!/usr/bin/env python3
"""Write rows to a Delta table with the `deltalake` package (fixtures for the
end-to-end tests, e.g. a table that exists before a function appends to it).

Reads a JSON list of row objects on stdin. Usage:
  write_delta.py URI [--mode append|overwrite|error|ignore]
                 [--partition-by COL ...] [--schema '[["col", "int64"], ...]']

Schema types are pyarrow aliases (int64, string, double, bool, date32,
timestamp[us], binary, ...) plus "timestamp[us, tz=UTC]"; without a schema
pyarrow infers one from the rows.
"""

import argparse
import json
import os
import sys

from _common import storage_options


def arrow_type(pa, name):
    if name.replace(" ", "").lower() == "timestamp[us,tz=utc]":
        return pa.timestamp("us", tz="UTC")
    return pa.type_for_alias(name)


def coerce(pa, schema, row):
    """ISO 8601 strings -> datetime/date for timestamp and date columns."""
    import datetime

    out = dict(row)
    for field in schema:
        v = out.get(field.name)
        if not isinstance(v, str):
            continue
        if pa.types.is_timestamp(field.type):
            out[field.name] = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
        elif pa.types.is_date(field.type):
            out[field.name] = datetime.date.fromisoformat(v)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uri")
    parser.add_argument("--mode", default="append")
    parser.add_argument("--partition-by", action="append", default=[], dest="partition_by")
    parser.add_argument("--schema", default=None)
    args = parser.parse_args()

    import pyarrow as pa
    from deltalake import write_deltalake

    rows = json.load(sys.stdin)
    schema = None
    if args.schema:
        schema = pa.schema([(n, arrow_type(pa, t)) for n, t in json.loads(args.schema)])
        rows = [coerce(pa, schema, r) for r in rows]
    table = pa.Table.from_pylist(rows, schema=schema)
    write_deltalake(
        args.uri,
        table,
        mode=args.mode,
        partition_by=args.partition_by or None,
        storage_options=storage_options(args.uri),
    )


if __name__ == "__main__":
    main()
    # Skip interpreter finalisation: the deltalake package's tokio worker
    # threads can abort the process (SIGABRT) while Python tears down, after
    # the work is done and printed (delta-io/delta-rs#2184).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
