"""The published Python approach to DynamoDB Streams -> Delta Lake on Lambda,
as a Lambda handler run over the same batches dynamo-cdc gets.

Per batch: every record's image (NewImage, or OldImage for REMOVE) goes
through boto3's TypeDeserializer; numbers become int or float, maps, lists
and sets are dumped to JSON strings; the rows become a pandas DataFrame
written with deltalake's `write_deltalake(uri, df, mode="append",
schema_mode="merge")`. Columns that are null in every row of a batch are
dropped first (pyarrow types them `null`, which Delta Lake cannot store).

Usage: dynamo_cdc_baseline.py --events FILE --uri URI
FILE holds one Lambda DynamoDB event per line. Prints `ready` once the
imports are done (the cold start of a Lambda container), then one JSON line:
per-batch handler times in ms and the process's peak RSS (KiB). S3 settings
come from the AWS_* environment variables, as the functions get them.
"""

import argparse
import base64
import decimal
import json
import os
import resource
import sys
import time

import boto3  # noqa: F401  (the Lambda Python runtime ships it; the approach imports it)
import pandas as pd
from boto3.dynamodb.types import Binary, TypeDeserializer
from deltalake import write_deltalake

print("ready", flush=True)

_KEYS = (
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ALLOW_HTTP",
)
_deserializer = TypeDeserializer()


def _storage_options(uri):
    if not uri.startswith("s3://"):
        return None
    return {k: os.environ[k] for k in _KEYS if os.environ.get(k)}


def _number(d):
    if d == d.to_integral_value() and -(2**63) <= d < 2**63:
        return int(d)
    return float(d)


def _json_default(v):
    if isinstance(v, decimal.Decimal):
        return _number(v)
    if isinstance(v, (set, frozenset)):
        return sorted(v, key=repr)
    if isinstance(v, Binary):
        return base64.b64encode(v.value).decode("ascii")
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode("ascii")
    raise TypeError(type(v))


def _value(v):
    if isinstance(v, (dict, list, set, frozenset)):
        return json.dumps(v, default=_json_default)
    if isinstance(v, decimal.Decimal):
        return _number(v)
    if isinstance(v, Binary):
        return v.value
    return v


def _binaries(attr):
    """Lambda's stream JSON carries B/BS as base64 text; TypeDeserializer
    wants bytes (boto3's client decodes them before it)."""
    (tag, v), = attr.items()
    if tag == "B":
        return {"B": base64.b64decode(v)}
    if tag == "BS":
        return {"BS": [base64.b64decode(b) for b in v]}
    if tag == "M":
        return {"M": {k: _binaries(x) for k, x in v.items()}}
    if tag == "L":
        return {"L": [_binaries(x) for x in v]}
    return attr


def handler(event, uri, storage_options):
    rows = []
    for record in event["Records"]:
        d = record["dynamodb"]
        image = d.get("NewImage") or d.get("OldImage") or d.get("Keys") or {}
        row = {
            "_op": record["eventName"],
            "_seq": d["SequenceNumber"].zfill(40),
            "_ts": pd.Timestamp(d["ApproximateCreationDateTime"], unit="s", tz="UTC"),
            "_event_id": record.get("eventID"),
        }
        for name, attr in image.items():
            row[name] = _value(_deserializer.deserialize(_binaries(attr)))
        rows.append(row)
    df = pd.DataFrame(rows).dropna(axis=1, how="all")
    write_deltalake(uri, df, mode="append", schema_mode="merge", storage_options=storage_options)
    return {"batchItemFailures": []}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--events", required=True)
    p.add_argument("--uri", required=True)
    a = p.parse_args()
    opts = _storage_options(a.uri)
    times = []
    records = 0
    with open(a.events) as f:
        for line in f:
            if not line.strip():
                continue
            # Timed from the raw event, as Lambda's runtime parses it for
            # the handler (the Rust side's time includes the same).
            t = time.perf_counter()
            event = json.loads(line)
            handler(event, a.uri, opts)
            times.append((time.perf_counter() - t) * 1000.0)
            records += len(event["Records"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"batches_ms": times, "peak_rss_kb": peak, "records": records}))


if __name__ == "__main__":
    sys.exit(main())
