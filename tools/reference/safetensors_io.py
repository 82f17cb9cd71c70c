"""safetensors_io.py: a standard-library reader and writer of the safetensors format, for torch.

The format (huggingface/safetensors; runtime/maec_rt.h has the same summary):
  - 8 bytes: N, the header length, unsigned little-endian;
  - N bytes: a JSON object {"NAME": {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]},
    ..., "__metadata__": {"key": "value", ...}} (the metadata is optional, string to string),
    padded with spaces to a multiple of 8 by writers (readers accept any N);
  - the data: each tensor's elements, row-major, little-endian, at [BEGIN, END) counted from the
    end of the header; the tensors cover the data exactly, without gaps or overlaps.

Only the dtypes maec uses are supported: F32, F64, I32, I64, U8. The reader checks everything it
relies on and raises FormatError with a message that names the file and the problem.
"""
import ctypes
import json
import math
import sys

import torch

DTYPES = {
    "F32": (torch.float32, 4),
    "F64": (torch.float64, 8),
    "I32": (torch.int32, 4),
    "I64": (torch.int64, 8),
    "U8": (torch.uint8, 1),
}
NAMES = {dt: name for name, (dt, _) in DTYPES.items()}
MAX_HEADER = 100_000_000  # huggingface/safetensors' limit on N

if sys.byteorder != "little":  # frombuffer / data_ptr give host order; the format is little-endian
    raise ImportError("safetensors_io.py supports little-endian hosts only")


class FormatError(Exception):
    pass


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise FormatError("duplicate key %r in a JSON object" % key)
        seen[key] = value
    return seen


def read(path):
    """Returns (tensors, metadata): an insertion-ordered dict NAME -> torch tensor (owning its
    memory), and the __metadata__ dict (empty when absent)."""
    with open(path, "rb") as f:
        data = f.read()

    def bad(msg):
        return FormatError("%s: %s" % (path, msg))

    if len(data) < 8:
        raise bad("%d bytes: too short for the 8-byte header length" % len(data))
    n = int.from_bytes(data[:8], "little")
    if n > MAX_HEADER or n > len(data) - 8:
        raise bad("header length %d is beyond the file (%d bytes) or the %d limit" % (n, len(data), MAX_HEADER))
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        raise bad("the header is not valid JSON: %s" % e)
    if not isinstance(header, dict):
        raise bad("the header is not a JSON object")
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise bad("__metadata__ is not an object of strings")
    body = memoryview(data)[8 + n :]
    tensors, spans = {}, []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise bad("tensor %r: the entry must have exactly dtype, shape and data_offsets" % name)
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPES:
            raise bad("tensor %r: dtype %r is not one of %s" % (name, dtype, ", ".join(DTYPES)))
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise bad("tensor %r: shape %r is not a list of sizes" % (name, shape))
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise bad("tensor %r: data_offsets %r is not [begin, end]" % (name, offsets))
        begin, end = offsets
        tdtype, size = DTYPES[dtype]
        numel = math.prod(shape)
        if not 0 <= begin <= end <= len(body) or end - begin != numel * size:
            raise bad("tensor %r: data_offsets [%d, %d] do not hold %s%r (%d bytes) within %d data bytes"
                      % (name, begin, end, dtype, shape, numel * size, len(body)))
        if numel == 0:
            t = torch.empty(shape, dtype=tdtype)
        else:  # a fresh bytearray: aligned, writable, owned by the tensor
            t = torch.frombuffer(bytearray(body[begin:end]), dtype=tdtype).reshape(shape)
        tensors[name] = t
        spans.append((begin, end))
    at = 0
    for begin, end in sorted(spans):
        if begin != at:
            raise bad("the data offsets leave a gap or overlap at byte %d" % at)
        at = end
    if at != len(body):
        raise bad("the tensors cover %d of the %d data bytes" % (at, len(body)))
    return tensors, meta


def write(path, tensors, metadata=None):
    """Writes tensors (a dict NAME -> torch tensor of a supported dtype) and metadata (a dict of
    strings) to path. 8-byte dtypes come first so that every tensor stays aligned."""
    items = []
    for name, t in tensors.items():
        if t.dtype not in NAMES:
            raise FormatError("%s: tensor %r has dtype %s, not one of %s" % (path, name, t.dtype, ", ".join(DTYPES)))
        items.append((name, t.detach().cpu().contiguous()))
    items.sort(key=lambda it: -it[1].element_size())  # stable: keeps the caller's order otherwise
    header, chunks, at = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in items:
        nbytes = t.numel() * t.element_size()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [at, at + nbytes]}
        chunks.append(ctypes.string_at(t.data_ptr(), nbytes) if nbytes else b"")
        at += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(len(raw).to_bytes(8, "little"))
        f.write(raw)
        for c in chunks:
            f.write(c)
