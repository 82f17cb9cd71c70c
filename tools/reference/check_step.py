#!/usr/bin/python3
"""check_step.py DUMP.safetensors: checks one training step of maec's trainer against PyTorch.

Usage: check_step.py DUMP [--recipe pretrain|finetune|linprobe] [--config full|small]
                          [--set KEY=VALUE ...] [--threads N] [--adamw-grads dump|ref] [--verbose]

The dump (safetensors; README.md has the full description) holds one optimizer step:
  input                F32 [B, channels, image, image]   the whole batch; micro-batch k is rows
                                                         [k*B/m, (k+1)*B/m) for m = micro_batches
  forward_indexes      I64 or I32 [T, B]                 pretrain only: column b is image b's
                                                         permutation of the T patches
  labels               I64 or I32 [B]                    finetune / linprobe only
  logits               F32 [B, classes]                  finetune / linprobe only
  loss                 F32 [] or [1]: the mean of the micro-batch losses; or [m]: each one's
  param.NAME           F32, every state_dict entry NAME, before the step
  grad.NAME            F32, every trainable NAME only: the SUM of the micro-batch mean gradients
  param_after.NAME     F32, every NAME, after one AdamW step (frozen ones unchanged)
  exp_avg.NAME, exp_avg_sq.NAME  F32, optional: AdamW's moments before the step (every trainable
                       NAME), required when metadata adam_step > 0
and the metadata (strings): recipe, lr (applied at this step, after the schedule), betas ("0.9,0.95"),
eps, weight_decay, micro_batches (default 1), train ("all" or comma-separated name prefixes; default
"all", "head" for linprobe), adam_step (steps already taken; default 0: fresh moments), and the
model sizes image, patch, channels, dim, enc_depth, dec_depth, heads, mask_ratio, classes (each
missing one taken from --config, default full).

What is checked, with the parity issue's tolerances (err = max|got - ref| / max|ref| per tensor):
  loss relative error <= 1e-5 (logits, a forward output too, <= 1e-5); every gradient <= 1e-4;
  every param_after <= 1e-5, after torch.optim.AdamW (foreach=False) over the trainable
  parameters only.
The AdamW step is applied to the DUMP's gradients by default (--adamw-grads dump), so the
param_after check tests the optimizer alone: Adam's first step moves each weight by about
lr * g / (|g| + eps), the sign of g, so the float noise of a correct gradient on an element
where g is near 0 would otherwise move it by up to 2 lr. --adamw-grads ref applies it to the
reference's gradients instead.

Prints a table per group (loss, logits, gradients by kind, params after), the worst elements of
any tensor out of tolerance, and exits 1 on any failure or malformed dump, 0 otherwise.

The reference model (README.md, "Which model"): official_ref.py (models/mae-official.dsl) when
--model official, or the metadata's `source` ends with "mae-official.dsl", or the metadata has
`dec_dim`; mae_ref.py (models/mae.dsl) otherwise. The official model's position tables are
frozen: no grad.NAME, left out of AdamW, param_after equal to param; its metadata `eps` is the
LayerNorm constant (maec writes the constants after the optimizer's eps, replacing it), so AdamW's
eps is the recipe's 1e-8 unless --adamw-eps gives another.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import mae_ref  # noqa: E402
import parity  # noqa: E402
import safetensors_io  # noqa: E402
from parity import DumpError, F32  # noqa: E402

PROG = "check_step.py"


def check(args):
    tensors, meta = safetensors_io.read(args.dump)
    fam, recipe, cfg, hp = parity.resolve(meta, args)
    if len(hp["lr"]) != 1:
        raise DumpError("metadata lr=%r: one step takes one learning rate" % meta["lr"])
    lr = hp["lr"][0]
    parity.describe(PROG, args.dump, fam, recipe, cfg, hp, "; AdamW on the %s gradients" % args.adamw_grads)

    torch.manual_seed(0)  # the initial values are overwritten; this only makes the build quiet and repeatable
    model = fam.build(recipe, cfg)
    parity.load_params(model, tensors, "param.")
    parity.note_official_tables(PROG, fam, model, tensors)
    named = list(model.named_parameters())
    names = [n for n, _ in named]
    frozen = parity.frozen_names(named)
    train = set(parity.trainable_names(names, hp["train"], frozen))
    for n, p in named:
        p.requires_grad_(n in train)

    known = {"input", "forward_indexes", "labels", "logits", "loss"}
    for n in names:
        known |= {"param." + n, "grad." + n, "param_after." + n, "exp_avg." + n, "exp_avg_sq." + n}
    stray = [k for k in tensors if k not in known]
    frozen_grads = [k for k in tensors if k.startswith("grad.") and k[5:] in names and k[5:] not in train]
    if frozen_grads:
        raise DumpError("gradients of frozen parameters (train=%s%s): %s"
                        % (",".join(hp["train"]), "; always frozen: " + ",".join(sorted(frozen)) if frozen else "",
                           ", ".join(frozen_grads)))
    if stray:
        print("%s: note: ignoring %d tensor(s) the format does not name: %s" % (PROG, len(stray), ", ".join(stray[:8])))

    img, fi, labels = parity.step_inputs(tensors, recipe, cfg)
    B, m = img.shape[0], hp["micro_batches"]
    loss_t = parity.get(tensors, "loss", F32)
    if loss_t.dim() > 1 or loss_t.numel() not in (1, m):
        raise DumpError("tensor 'loss' has shape %s, want [] or [1] (the mean) or [%d] (each micro-batch)"
                        % (list(loss_t.shape), m))
    logits_t = parity.get(tensors, "logits", F32, [B, cfg["classes"]]) if recipe != "pretrain" else None
    grads = {n: parity.get(tensors, "grad." + n, F32, list(p.shape)) for n, p in named if n in train}
    after = {n: parity.get(tensors, "param_after." + n, F32, list(p.shape)) for n, p in named}
    before = {n: p.detach().clone() for n, p in named}

    rep = parity.Report(PROG, args.verbose)
    model.zero_grad(set_to_none=True)
    losses, logits = parity.run_step(model, recipe, img, fi, labels, m, fam)

    if loss_t.numel() == 1:
        rep.compare("loss", "loss (mean of %d micro-batch%s)" % (m, "es" if m > 1 else ""), loss_t.reshape(()),
                    torch.tensor(sum(losses) / m, dtype=torch.float64), parity.TOL_LOSS)
    else:
        for k in range(m):
            rep.compare("loss", "loss[%d]" % k, loss_t[k], torch.tensor(losses[k], dtype=torch.float64),
                        parity.TOL_LOSS)
    if logits is not None:
        rep.compare("logits", "logits", logits_t, logits, parity.TOL_LOGITS)
    for n, p in named:
        if n in train:
            rep.compare("grad: " + parity.kind_of(n), "grad." + n, grads[n], p.grad, parity.TOL_GRAD)

    opt = mae_ref.adamw([p for n, p in named if n in train], lr, hp["betas"], hp["eps"], hp["weight_decay"])
    parity.load_adam_state(opt, [(n, p) for n, p in named if n in train], tensors, hp)
    if args.adamw_grads == "dump":
        for n, p in named:
            if n in train:
                p.grad = grads[n].clone()
    opt.step()
    for n, p in named:
        label = "param_after." + n + ("" if n in train else " (frozen)")
        rep.compare("params after", label, after[n], p.detach(), parity.TOL_PARAM)
        if n not in train and not torch.equal(after[n], before[n]):
            rep.fail("param_after.%s: a frozen parameter changed" % n)

    rep.table()
    return rep.verdict()


def main():
    def extra(p):
        p.add_argument("--adamw-grads", choices=("dump", "ref"), default="dump",
                       help="the gradients AdamW is applied to (default dump: tests the optimizer alone)")

    parity.main(PROG, __doc__, check, extra)


if __name__ == "__main__":
    main()
