"""Reading W&B's run files (``run-*.wandb``) back, for tests.

wandb >= 0.30 moved its reader into the Go core, so this follows the documented on-disk format:
a 7-byte ":W&B" header, then LevelDB-log framing (32 KiB blocks; each chunk has a 4-byte
checksum, a 2-byte little-endian length and a 1-byte type FULL/FIRST/MIDDLE/LAST) around
serialized ``wandb_internal_pb2.Record`` protobufs.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from wandb.proto import wandb_internal_pb2

HEADER = 7
BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_records(path: Path) -> list[Any]:
    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", "not a W&B run file"
    records, pending, pos = [], b"", HEADER
    while pos + 7 <= len(data):
        block_left = BLOCK - pos % BLOCK
        if block_left < 7:  # block trailer padding
            pos += block_left
            continue
        _checksum, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            break
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
    return records


def run_history(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """(config, one dict per logged step, group) of an offline run file."""
    config: dict[str, Any] = {}
    history, group = [], ""
    for record in read_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            group = record.run.run_group
            config.update({i.key: json.loads(i.value_json) for i in record.run.config.update})
        elif kind == "config":
            config.update({i.key: json.loads(i.value_json) for i in record.config.update})
        elif kind == "history":
            history.append(
                {
                    i.key or "/".join(i.nested_key): json.loads(i.value_json)
                    for i in record.history.item
                }
            )
    return config, history, group
