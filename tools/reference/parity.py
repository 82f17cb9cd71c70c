"""parity.py: what check_step.py and check_steps.py share: reading a dump's metadata, choosing and
building the reference model from it, running micro-batched steps, and comparing tensors with a
report.

Two reference models ("families"), each a module with the same interface (NAME, CONFIG_KEYS,
CONFIGS, RECIPES, parse_config_value, build, mae_loss, classifier_loss):
  mae       mae_ref.py:      models/mae.dsl (IcarusWizard/MAE with timm 0.4.12 Blocks)
  official  official_ref.py: models/mae-official.dsl (facebookresearch/mae MaskedAutoencoderViT)
select_family() picks one from the metadata: `official` when the metadata's `source` (the DSL
path maec writes) ends with "mae-official.dsl" or the metadata has the constant `dec_dim` (only
the official file has a decoder width of its own); `mae` otherwise, so every models/mae.dsl dump
and every make_dump.py dump of the mae family is read as before. --model overrides.

The error measure of a tensor is llm.c's per-tensor one, normalised by the reference's largest
magnitude: err = max|got - ref| / max|ref| (0 when both are exactly zero; infinite when only the
reference is). The tolerances are the parity issue's and are not to be loosened without a written
reason here.
"""
import argparse
import math
import sys

import torch

import mae_ref
import official_ref
import safetensors_io

FAMILIES = {"mae": mae_ref, "official": official_ref}

TOL_LOSS = 1e-5        # the loss of one step, relative
TOL_LOGITS = 1e-5      # the logits of one step (a forward output, held to the loss's tolerance)
TOL_GRAD = 1e-4        # every gradient, max-normalised
TOL_PARAM = 1e-5       # every parameter after the AdamW step, max-normalised
TOL_LOSS_SEQ = 1e-4    # each loss of a multi-step run, relative

KINDS = ("embeddings", "attention", "mlp", "norms", "heads")


class DumpError(Exception):
    """The dump does not follow the format (README.md); reported as a failure."""


def kind_of(name):
    """The group of a parameter name (any of the models' state_dicts)."""
    parts = name.split(".")
    if ".attn." in name:
        return "attention"
    if ".mlp." in name:
        return "mlp"
    if any(p in ("norm1", "norm2", "layer_norm", "norm", "decoder_norm") for p in parts):
        return "norms"
    if any(p in ("head", "decoder_embed", "decoder_pred") for p in parts):
        return "heads"
    if (parts[-1] in ("cls_token", "pos_embedding", "mask_token", "pos_embed", "decoder_pos_embed")
            or "patchify" in parts or "patch_embed" in parts):
        return "embeddings"
    return "other"


def add_common_args(p):
    p.add_argument("dump", help="the .safetensors dump")
    p.add_argument("--model", choices=sorted(FAMILIES),
                   help="the reference model: mae (models/mae.dsl) or official (models/mae-official.dsl); "
                        "default: from the metadata (official when `source` ends with mae-official.dsl or "
                        "the metadata has dec_dim)")
    p.add_argument("--recipe", choices=sorted(set(mae_ref.RECIPES) | set(official_ref.RECIPES)),
                   help="pretrain, finetune or linprobe (default: the dump's metadata `recipe`)")
    p.add_argument("--config", choices=sorted(mae_ref.CONFIGS),
                   help="model sizes for keys the metadata lacks (default full); an error where the "
                        "metadata disagrees")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one model size (mae: image, patch, channels, dim, enc_depth, dec_depth, "
                        "heads, mask_ratio, classes; official: image, patch, channels, dim, depth, heads, "
                        "dec_dim, dec_depth, dec_heads, mask_ratio, eps); repeatable")
    p.add_argument("--adamw-eps", type=float, default=None,
                   help="AdamW's eps, overriding the metadata's (official model: the metadata's `eps` is the "
                        "LayerNorm constant, and AdamW's defaults to the recipe's, 1e-8)")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--verbose", action="store_true", help="print every tensor's row, not only the groups")


def fail_exit(prog, msg):
    print("%s: FAIL: %s" % (prog, msg))
    sys.exit(1)


def main(prog, doc, check, extra=None):
    """A checker's command line: its arguments parsed, check(args)'s status the exit status, a
    malformed dump or an unreadable file one FAIL line and status 1."""
    args = parse(prog, doc, extra)
    try:
        sys.exit(check(args))
    except (DumpError, safetensors_io.FormatError, OSError) as e:
        fail_exit(prog, str(e))


# ---------------------------------------------------------------- metadata

def select_family(meta, args):
    """The reference model's module: --model, else official when the metadata's `source` ends with
    "mae-official.dsl" or it has the constant `dec_dim`, else mae."""
    if getattr(args, "model", None):
        return FAMILIES[args.model]
    if meta.get("source", "").endswith("mae-official.dsl") or "dec_dim" in meta:
        return official_ref
    return mae_ref


def resolve(meta, args):
    """(family, recipe, cfg, hp) from the metadata and the command line. hp: lr (a list of strings'
    values, one or per step), betas, eps (AdamW's), weight_decay, micro_batches, train (list or
    ["all"]), adam_step, eps_note (why eps is not the metadata's, or None)."""
    fam = select_family(meta, args)
    recipe = meta.get("recipe")
    if args.recipe and recipe and args.recipe != recipe:
        raise DumpError("--recipe %s but the dump's metadata says recipe=%s" % (args.recipe, recipe))
    recipe = args.recipe or recipe
    if recipe not in fam.RECIPES:
        raise DumpError("recipe %r: give --recipe or metadata recipe=%s (model %s)"
                        % (recipe, "|".join(fam.RECIPES), fam.NAME if hasattr(fam, "NAME") else "mae"))

    cfg = dict(fam.CONFIGS[args.config or "full"])
    for key in fam.CONFIG_KEYS:
        # maec writes a model constant whose name is also a setting (eps) as const.NAME
        text = meta.get("const." + key, meta.get(key))
        if text is not None:
            try:
                value = fam.parse_config_value(key, text)
            except ValueError:
                raise DumpError("metadata %s=%r is not a number" % (key, text))
            if args.config and value != cfg[key]:
                raise DumpError("--config %s has %s=%s but the dump's metadata says %s"
                                % (args.config, key, cfg[key], text))
            cfg[key] = value
    for item in args.set:
        key, _, text = item.partition("=")
        try:
            cfg[key] = fam.parse_config_value(key, text)
        except ValueError as e:
            raise DumpError("--set %s: %s" % (item, e))
    if hasattr(fam, "derived"):  # the DSL's derived constants, when written, must agree
        for key, value in fam.derived(cfg).items():
            if key in meta and not args.set and fam.parse_config_value(key, meta[key]) != value:
                raise DumpError("metadata %s=%s, but the other sizes give %s" % (key, meta[key], value))

    def need(key):
        if key not in meta:
            raise DumpError("the metadata lacks %r" % key)
        return meta[key]

    def number(key, text):
        try:
            return float(text)
        except ValueError:
            raise DumpError("metadata %s=%r is not a number" % (key, text))

    hp = {}
    hp["lr"] = [number("lr", x) for x in need("lr").split(",")]
    hp["betas"] = tuple(number("betas", x) for x in need("betas").split(","))
    if len(hp["betas"]) != 2:
        raise DumpError("metadata betas=%r: want two numbers, as in \"0.9,0.95\"" % meta["betas"])
    hp["eps_note"] = None
    if args.adamw_eps is not None:
        hp["eps"] = args.adamw_eps
        hp["eps_note"] = "AdamW eps %g from --adamw-eps" % args.adamw_eps
    elif "eps" in fam.CONFIG_KEYS and "const.eps" not in meta:
        # A dump from before maec wrote colliding constants as const.NAME: its `eps` is the
        # model's constant (the LayerNorm eps), so AdamW's is the recipe's.
        hp["eps"] = fam.RECIPES[recipe]["eps"]
        hp["eps_note"] = ("AdamW eps %g is the recipe's: the metadata's eps=%s is the model constant (LayerNorm)"
                          % (hp["eps"], meta.get("eps", "(absent)")))
    else:
        hp["eps"] = number("eps", need("eps"))
    hp["weight_decay"] = number("weight_decay", need("weight_decay"))
    hp["micro_batches"] = int(number("micro_batches", meta.get("micro_batches", "1")))
    hp["adam_step"] = int(number("adam_step", meta.get("adam_step", "0")))
    hp["train"] = [x.strip() for x in meta.get("train", fam.RECIPES[recipe]["train"]).split(",") if x.strip()]
    if hp["micro_batches"] < 1:
        raise DumpError("metadata micro_batches=%s" % meta["micro_batches"])
    return fam, recipe, cfg, hp


def trainable_names(names, train, frozen=()):
    """The names selected by the prefixes (a prefix selects itself and NAME.*), or all; never the
    frozen ones (parameters with requires_grad False in the reference model)."""
    if train == ["all"]:
        return [n for n in names if n not in frozen]
    chosen = []
    for prefix in train:
        hits = [n for n in names if n == prefix or n.startswith(prefix + ".")]
        if not hits:
            raise DumpError("metadata train: prefix %r selects no parameter of the model" % prefix)
        chosen += hits
    return [n for n in names if n in set(chosen) and n not in frozen]


def frozen_names(named):
    """The parameters the reference model builds frozen (requires_grad False)."""
    return {n for n, p in named if not p.requires_grad}


def describe(prog, path, fam, recipe, cfg, hp, extra=""):
    sizes = " ".join("%s=%s" % (k, cfg[k]) for k in fam.CONFIG_KEYS)
    lr = ",".join("%g" % x for x in hp["lr"])
    print("%s: %s: model %s (%s); recipe %s; %s" % (prog, path, getattr(fam, "NAME", "mae"), fam.__name__ + ".py",
                                                   recipe, sizes))
    print("%s: AdamW lr=%s betas=%g,%g eps=%g weight_decay=%g; micro_batches=%d; train=%s%s"
          % (prog, lr, hp["betas"][0], hp["betas"][1], hp["eps"], hp["weight_decay"], hp["micro_batches"],
             ",".join(hp["train"]), extra))
    if hp.get("eps_note"):
        print("%s: note: %s" % (prog, hp["eps_note"]))


def note_official_tables(prog, fam, model, tensors):
    """Official model: how far the dump's frozen sin-cos tables are from models_mae.py's
    (information: the check loads the dump's own values)."""
    if fam is not official_ref:
        return
    for n in ("pos_embed", "decoder_pos_embed"):
        t = tensors.get("param." + n)
        if t is not None and t.dtype == torch.float32 and t.dim() == 3:
            ref = official_ref.sincos_2d(t.shape[-1], model.grid)
            if ref.shape == t.shape:
                print("%s: note: param.%s vs models_mae.py's 2-D sin-cos table: max abs difference %.3g "
                      "(information; the dump's values are used)" % (prog, n, float((t - ref).abs().max())))


# ---------------------------------------------------------------- tensors of the dump

def get(tensors, name, dtypes, shape=None):
    """tensors[name], checked: one of dtypes (torch dtypes) and, when given, the shape (None in
    the shape matches any size)."""
    if name not in tensors:
        raise DumpError("the dump lacks tensor %r" % name)
    t = tensors[name]
    if t.dtype not in dtypes:
        raise DumpError("tensor %r is %s, want %s" % (name, safetensors_io.NAMES[t.dtype],
                                                      " or ".join(safetensors_io.NAMES[d] for d in dtypes)))
    if shape is not None and (len(shape) != t.dim() or any(s is not None and s != d for s, d in zip(shape, t.shape))):
        raise DumpError("tensor %r has shape %s, want %s" % (name, list(t.shape),
                                                            ["B" if s is None else s for s in shape]))
    return t


F32 = (torch.float32,)
INT = (torch.int64, torch.int32)


def step_inputs(tensors, recipe, cfg, suffix=""):
    """(input, forward_indexes or None, labels or None) of one step; suffix "" or ".K"."""
    img = get(tensors, "input" + suffix, F32, [None, cfg["channels"], cfg["image"], cfg["image"]])
    B = img.shape[0]
    T = (cfg["image"] // cfg["patch"]) ** 2
    if recipe == "pretrain":
        fi = get(tensors, "forward_indexes" + suffix, INT, [T, B]).long()
        if not torch.equal(fi.sort(dim=0).values, torch.arange(T).unsqueeze(1).expand(T, B)):
            bad = [b for b in range(B) if not torch.equal(fi[:, b].sort().values, torch.arange(T))]
            raise DumpError("forward_indexes%s: column %d (image %d) is not a permutation of 0..%d"
                            % (suffix, bad[0], bad[0], T - 1))
        return img, fi, None
    labels = get(tensors, "labels" + suffix, INT, [B]).long()
    if labels.numel() and (labels.min() < 0 or labels.max() >= cfg["classes"]):
        raise DumpError("labels%s: values outside 0..%d" % (suffix, cfg["classes"] - 1))
    return img, None, labels


def load_params(model, tensors, prefix="param."):
    """load_state_dict(strict=True) from the dump's PREFIX.NAME tensors (F32)."""
    sd = {}
    for key, t in tensors.items():
        if key.startswith(prefix):
            if t.dtype != torch.float32:
                raise DumpError("tensor %r is %s, want F32" % (key, safetensors_io.NAMES[t.dtype]))
            sd[key[len(prefix):]] = t
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise DumpError("%s* does not match the model's state_dict: %s" % (prefix, str(e).replace("\n\t", " ")))


def load_adam_state(opt, named, tensors, hp):
    """Optional moments exp_avg.NAME / exp_avg_sq.NAME when metadata adam_step > 0."""
    if hp["adam_step"] == 0:
        stray = [k for k in tensors if k.startswith(("exp_avg.", "exp_avg_sq."))]
        if stray:
            raise DumpError("moments (%s, ...) given but metadata adam_step is 0 or absent" % stray[0])
        return
    for name, p in named:
        m = get(tensors, "exp_avg." + name, F32, list(p.shape))
        v = get(tensors, "exp_avg_sq." + name, F32, list(p.shape))
        opt.state[p] = {"step": torch.tensor(float(hp["adam_step"])), "exp_avg": m.clone(), "exp_avg_sq": v.clone()}


def run_step(model, recipe, img, fi, labels, micro_batches, fam=mae_ref):
    """Forward and backward on each consecutive micro-batch, accumulating the gradients (the sum
    of the micro-batch mean gradients). Returns (micro-batch losses as floats, logits or None)."""
    B = img.shape[0]
    if B % micro_batches:
        raise DumpError("batch %d does not split into %d equal micro-batches" % (B, micro_batches))
    mb = B // micro_batches
    losses, logits = [], []
    for k in range(micro_batches):
        s = slice(k * mb, (k + 1) * mb)
        if recipe == "pretrain":
            loss = fam.mae_loss(model, img[s], fi[:, s])
        else:
            loss, lg = fam.classifier_loss(model, img[s], labels[s])
            logits.append(lg.detach())
        loss.backward()
        losses.append(loss.item())
    return losses, (torch.cat(logits) if logits else None)


# ---------------------------------------------------------------- comparing and reporting

def error(got, ref):
    """(max abs error, max-normalised error, flat index of the worst element), in float64."""
    got, ref = got.double().reshape(-1), ref.double().reshape(-1)
    diff = (got - ref).abs()
    if diff.numel() == 0:
        return 0.0, 0.0, None
    worst = int(diff.argmax())
    amax = float(diff[worst])
    scale = float(ref.abs().max())
    if math.isnan(amax):
        return math.nan, math.inf, worst
    rel = amax / scale if scale > 0 else (0.0 if amax == 0 else math.inf)
    return amax, rel, worst


class Report:
    """Rows grouped for a table; failures collected for the verdict."""

    def __init__(self, prog, verbose=False):
        self.prog, self.verbose = prog, verbose
        self.groups = {}  # group -> list of (label, abs, rel, tol, got, ref)
        self.failures = []

    def compare(self, group, label, got, ref, tol):
        got = got.detach().reshape(ref.shape) if got.numel() == ref.numel() else got
        if got.numel() != ref.numel():
            self.failures.append("%s: %d elements, the reference has %d" % (label, got.numel(), ref.numel()))
            return
        amax, rel, worst = error(got, ref)
        self.groups.setdefault(group, []).append((label, amax, rel, tol, got, ref))
        if not rel <= tol:
            self.failures.append(self._detail(label, amax, rel, tol, got, ref))

    def fail(self, msg):
        self.failures.append(msg)

    @staticmethod
    def _detail(label, amax, rel, tol, got, ref, show=3):
        g, r = got.double().reshape(-1), ref.double().reshape(-1)
        diff = (g - r).abs()
        order = diff.argsort(descending=True)[:show].tolist()
        worst = []
        for i in order:
            idx, rest = [], i
            for d in reversed(ref.shape):
                idx.insert(0, rest % d)
                rest //= d
            worst.append("[%s] %.8g vs %.8g" % (",".join(map(str, idx)), g[i], r[i]))
        return ("%s: max|got - ref| = %.3g, max|ref| = %.3g, error %.3g > tolerance %g; largest differences "
                "(got vs ref): %s" % (label, amax, float(r.abs().max()) if r.numel() else 0.0, rel, tol,
                                      "; ".join(worst)))

    def table(self):
        order = ["loss", "logits"] + ["grad: " + k for k in KINDS + ("other",)] + ["params after"]
        rows = []
        for group, items in sorted(self.groups.items(), key=lambda gi: order.index(gi[0]) if gi[0] in order else 99):
            worst = max(items, key=lambda it: (math.isnan(it[2]), it[2]))
            amax = max(it[1] for it in items)
            ok = all(it[2] <= it[3] for it in items)
            rows.append((group, len(items), amax, worst[2], worst[3], worst[0], ok))
            if self.verbose and len(items) > 1:
                for label, a, r, t, _, _ in items:
                    rows.append(("  " + label, 1, a, r, t, "", r <= t))
        w = max([len("group")] + [len(r[0]) for r in rows])
        print("%-*s %7s %12s %12s %9s  %-6s %s" % (w, "group", "tensors", "max abs err", "max rel err", "tol",
                                                   "status", "worst tensor"))
        for g, n, a, r, t, wt, ok in rows:
            print("%-*s %7d %12.3e %12.3e %9.0e  %-6s %s" % (w, g, n, a, r, t, "ok" if ok else "FAIL", wt))

    def verdict(self):
        if self.failures:
            for f in self.failures:
                print("%s: FAIL: %s" % (self.prog, f))
            print("%s: FAIL: %d check(s) failed" % (self.prog, len(self.failures)))
            return 1
        n = sum(len(v) for v in self.groups.values())
        print("%s: ok: %d tensors within tolerance" % (self.prog, n))
        return 0


def parse(prog, doc, extra=None):
    p = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p)
    if extra:
        extra(p)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    return args
