#!/usr/bin/python3
"""load_checkpoint.py CKPT.safetensors: loads a checkpoint written by maec's trainer into the
PyTorch reference model with load_state_dict(strict=True), as a user of the seed would, and
runs the model once on a random batch to show the values are usable.

The model (the seed's MAE_ViT or ViT_Classifier, or the official MaskedAutoencoderViT) and its
sizes come from the checkpoint's metadata: `recipe` and the DSL's top-level constants (maec
writes a constant whose name is also a setting as const.NAME). Exits 1, saying why, when any
name, shape or dtype does not match.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import parity  # noqa: E402
import safetensors_io  # noqa: E402


class Args:
    model = None


def main():
    if len(sys.argv) != 2:
        print("usage: load_checkpoint.py CKPT.safetensors", file=sys.stderr)
        return 2
    path = sys.argv[1]
    tensors, meta = safetensors_io.read(path)
    fam = parity.select_family(meta, Args())
    recipe = meta.get("recipe")
    if recipe not in fam.RECIPES:
        print("load_checkpoint.py: %s: metadata recipe=%r is not one of %s" % (path, recipe, ", ".join(fam.RECIPES)),
              file=sys.stderr)
        return 1
    cfg = dict(fam.CONFIGS["full"])
    for key in fam.CONFIG_KEYS:
        text = meta.get("const." + key, meta.get(key))
        if text is not None:
            cfg[key] = fam.parse_config_value(key, text)
    model = fam.build(recipe, cfg)
    state = {name: t for name, t in tensors.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        print("load_checkpoint.py: %s: %s" % (path, e), file=sys.stderr)
        return 1
    img = torch.rand(2, cfg["channels"], cfg["image"], cfg["image"]) * 2 - 1
    with torch.no_grad():
        if recipe == "pretrain":
            tokens = (cfg["image"] // cfg["patch"]) ** 2
            fi = torch.stack([torch.randperm(tokens) for _ in range(2)], dim=1)
            out = fam.mae_loss(model, img, fi) if fam is not parity.official_ref else None
        else:
            out = model(img)
    finite = out is None or bool(torch.isfinite(out if torch.is_tensor(out) else out[0]).all())
    print("load_checkpoint.py: %s: %d tensors loaded into the reference %s with load_state_dict(strict=True)%s"
          % (path, len(state), type(model).__name__, "" if finite else "; but its output is not finite"))
    return 0 if finite else 1


if __name__ == "__main__":
    sys.exit(main())
