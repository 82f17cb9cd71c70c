#!/usr/bin/env python3
"""stfile.py FILE KEY | --finite: a safetensors file's metadata value, or whether every
F32 tensor in it is finite (exit 1 if not). Standard library only: the trainer's
robustness tests (trainer.sh) use it where torch may be absent."""
import array
import json
import math
import struct
import sys

path, what = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    data = f.read()
(n,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8:8 + n])
if what != "--finite":
    print(header.get("__metadata__", {}).get(what, ""))
    sys.exit(0)
body = data[8 + n:]
for name, t in header.items():
    if name == "__metadata__" or t["dtype"] != "F32":
        continue
    begin, end = t["data_offsets"]
    values = array.array("f", body[begin:end])
    bad = [x for x in values if not math.isfinite(x)]
    if bad:
        print("%s: %d non-finite values" % (name, len(bad)))
        sys.exit(1)
print("finite")
