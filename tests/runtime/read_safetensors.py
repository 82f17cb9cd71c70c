"""read_safetensors.py FILE: an independent reader for the file test_runtime writes.

test_runtime.c (test_st_python) writes FILE with rt_st_write and runs this script on it.
The script reads FILE with the standard library only (struct, json), checks the rules that
huggingface/safetensors enforces (header length, JSON object, dtypes, offsets that cover the
data exactly) and the exact contents test_runtime.c wrote, including the sincos2d tables
against a transcription of facebookresearch/mae util/pos_embed.py (with numpy when it is
importable, with the math module otherwise). If the `safetensors` package is importable it
loads FILE with it as well. Prints what it checked; exit status 0 when everything matched.
"""
import json
import math
import struct
import sys

SIZES = {"F32": 4, "F64": 8, "I32": 4, "I64": 8, "U8": 1}
FORMATS = {"F32": "f", "F64": "d", "I32": "i", "I64": "q", "U8": "B"}


def fail(msg):
    print("read_safetensors.py: FAIL: " + msg)
    sys.exit(1)


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        fail("duplicate keys in a JSON object: %r" % keys)
    return dict(pairs)


def read(path):
    data = open(path, "rb").read()
    if len(data) < 8:
        fail("file too short")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        fail("header length %d beyond the file" % n)
    if n % 8:
        fail("header length %d is not a multiple of 8" % n)
    raw = data[8 : 8 + n]
    if not raw.startswith(b"{"):
        fail("header does not start with '{'")
    header = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
    meta = header.pop("__metadata__", {})
    body = data[8 + n :]
    tensors, spans = {}, []
    for name, info in header.items():
        if set(info) != {"dtype", "shape", "data_offsets"}:
            fail("tensor %r has fields %r" % (name, sorted(info)))
        dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        numel = math.prod(shape)
        if end - begin != numel * SIZES[dtype]:
            fail("tensor %r: %d bytes for shape %r of %s" % (name, end - begin, shape, dtype))
        values = struct.unpack("<%d%s" % (numel, FORMATS[dtype]), body[begin:end])
        tensors[name] = (dtype, shape, values)
        spans.append((begin, end))
    at = 0
    for begin, end in sorted(spans):
        if begin != at:
            fail("data offsets leave a gap or overlap at byte %d" % at)
        at = end
    if at != len(body):
        fail("the tensors cover %d of %d data bytes" % (at, len(body)))
    return meta, tensors, list(header)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def sincos_reference_math(width, grid_h, grid_w, cls_rows):
    """pos_embed.py with the math module: row-major over (h, w); first half encodes w."""
    q = width // 4
    omega = [1.0 / 10000 ** (k / q) for k in range(q)]
    rows = [[0.0] * width for _ in range(cls_rows)]
    for h in range(grid_h):
        for w in range(grid_w):
            row = []
            for pos in (w, h):
                row += [math.sin(pos * o) for o in omega] + [math.cos(pos * o) for o in omega]
            rows.append(row)
    return [f32(x) for row in rows for x in row]


def sincos_reference_numpy(np, embed_dim, grid_h_size, grid_w_size, cls_rows):
    """facebookresearch/mae util/pos_embed.py, generalised to grid_h != grid_w (np.float is
    np.float64 there)."""

    def get_1d_sincos_pos_embed_from_grid(embed_dim, pos):
        omega = np.arange(embed_dim // 2, dtype=np.float64)
        omega /= embed_dim / 2.0
        omega = 1.0 / 10000**omega
        pos = pos.reshape(-1)
        out = np.einsum("m,d->md", pos, omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    grid_h = np.arange(grid_h_size, dtype=np.float32)
    grid_w = np.arange(grid_w_size, dtype=np.float32)
    grid = np.meshgrid(grid_w, grid_h)  # here w goes first
    grid = np.stack(grid, axis=0).reshape([2, 1, grid_h_size, grid_w_size])
    emb_h = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[0])
    emb_w = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[1])
    emb = np.concatenate([emb_h, emb_w], axis=1)
    if cls_rows:
        emb = np.concatenate([np.zeros([cls_rows, embed_dim]), emb], axis=0)
    return emb.astype(np.float32).reshape(-1)


def max_diff(a, b):
    return max((abs(x - y) for x, y in zip(a, b)), default=0.0)


def main():
    if len(sys.argv) != 2:
        fail("usage: read_safetensors.py FILE")
    path = sys.argv[1]
    meta, tensors, order = read(path)
    expect_order = ["pos_embed", "b.f64", "d.i64", "a.f32", "c.i32", "pos_rect", "scalar", "empty", "e.u8",
                    'we"ird\\ name\n \u00e9']
    if order != expect_order:
        fail("tensor order %r" % order)
    expect_meta = {"format": "pt", "note": 'tab\there "q" \u00e9 \x01 \U0001F600'}
    if meta != expect_meta:
        fail("metadata %r" % meta)
    expect = {
        "b.f64": ("F64", [4], [1.0 / (i + 1) for i in range(4)]),
        "d.i64": ("I64", [2], [-9007199254740993, 1 << 62]),
        "a.f32": ("F32", [2, 3], [i * 0.5 - 1.25 for i in range(6)]),
        "c.i32": ("I32", [3], [-1, 0, 2147483647]),
        "scalar": ("F32", [], [3.5]),
        "empty": ("F32", [0, 4], []),
        "e.u8": ("U8", [5], [0, 1, 127, 128, 255]),
        'we"ird\\ name\n \u00e9': ("F32", [1], [1.0]),
    }
    for name, (dtype, shape, values) in expect.items():
        if tensors[name] != (dtype, shape, tuple(values)):
            fail("tensor %r is %r, expected %r" % (name, tensors[name], (dtype, shape, values)))
    tables = {"pos_embed": ([1, 257, 192], 16, 16, 1), "pos_rect": ([17, 16], 3, 5, 2)}
    for name, (shape, gh, gw, cls) in tables.items():
        dtype, got_shape, values = tensors[name]
        if (dtype, got_shape) != ("F32", shape):
            fail("tensor %r is %s %r" % (name, dtype, got_shape))
        d = max_diff(values, sincos_reference_math(shape[-1], gh, gw, cls))
        print("read_safetensors.py: %s: max |diff| against pos_embed.py (math module) = %.3g" % (name, d))
        if d > 2**-23:
            fail("%s differs from the math-module reference by %g" % (name, d))
    try:
        import numpy as np
    except ImportError:
        print("read_safetensors.py: numpy is not importable: numpy cross-check skipped")
        np = None
    if np is not None:
        for name, (shape, gh, gw, cls) in tables.items():
            ref = sincos_reference_numpy(np, shape[-1], gh, gw, cls)
            d = float(np.max(np.abs(np.array(tensors[name][2], dtype=np.float32) - ref)))
            print("read_safetensors.py: %s: max |diff| against pos_embed.py (numpy %s) = %.3g" %
                  (name, np.__version__, d))
            if d > 2**-23:
                fail("%s differs from the numpy reference by %g" % (name, d))
    try:
        from safetensors.numpy import load_file
    except ImportError:
        print("read_safetensors.py: the safetensors package is not importable: reference-reader check skipped")
        load_file = None
    if load_file is not None and np is not None:
        loaded = load_file(path)
        for name, (dtype, shape, values) in tensors.items():
            if list(loaded[name].shape) != shape or loaded[name].reshape(-1).tolist() != list(values):
                fail("safetensors.numpy.load_file disagrees on %r" % name)
        print("read_safetensors.py: safetensors.numpy.load_file reads the same tensors")
    print("read_safetensors.py: ok: %d tensors, %d metadata entries" % (len(tensors), len(meta)))


if __name__ == "__main__":
    main()
