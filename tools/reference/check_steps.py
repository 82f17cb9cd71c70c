#!/usr/bin/python3
"""check_steps.py DUMP.safetensors: checks a run of consecutive training steps of maec's trainer
(the loss sequence) against PyTorch.

Usage: check_steps.py DUMP [--recipe pretrain|finetune|linprobe] [--config full|small]
                           [--set KEY=VALUE ...] [--threads N] [--verbose]

The dump (safetensors; README.md has the full description) holds N steps from one starting point,
typically 10 steps of 2 micro-batches each:
  param.NAME           F32, every state_dict entry NAME, before the first step
  input.K              F32 [B, channels, image, image]   step K's batch (K = 0 .. N-1); micro-batch
                                                         j is rows [j*B/m, (j+1)*B/m)
  forward_indexes.K    I64 or I32 [T, B]                 pretrain only
  labels.K             I64 or I32 [B]                    finetune / linprobe only
  loss.K               F32 [] or [1]: the mean of step K's micro-batch losses, computed with the
                       parameters after K updates (before step K's own update)
  param_final.NAME     F32, optional: every NAME after the N updates (reported, not checked)
  exp_avg.NAME, exp_avg_sq.NAME  F32, optional: AdamW's moments before the first step; required
                       when metadata adam_step > 0
and the metadata of check_step.py (recipe, lr, betas, eps, weight_decay, micro_batches, train,
adam_step, the model sizes) plus `steps` = N; lr is either one value for every step or N
comma-separated values, the one applied at each step.

The reference starts from param.*, and for each step K accumulates the micro-batch gradients,
takes its loss, and applies torch.optim.AdamW (foreach=False, trainable parameters only) with
lr K; each loss.K must be within 1e-4 relative of the reference's. param_final.* is compared
for information only: after several steps Adam amplifies float noise on near-zero gradients
(each update is about lr * sign(g)), so no tight bound holds element-wise.
Exits 1 on any failure or malformed dump, 0 otherwise.

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

PROG = "check_steps.py"


def check(args):
    tensors, meta = safetensors_io.read(args.dump)
    fam, recipe, cfg, hp = parity.resolve(meta, args)
    if "steps" not in meta or not meta["steps"].isdigit() or int(meta["steps"]) < 1:
        raise DumpError("the metadata lacks `steps` (the number of steps, a positive integer)")
    n = int(meta["steps"])
    lrs = hp["lr"] * n if len(hp["lr"]) == 1 else hp["lr"]
    if len(lrs) != n:
        raise DumpError("metadata lr has %d values for %d steps (want 1 or %d)" % (len(hp["lr"]), n, n))
    parity.describe(PROG, args.dump, fam, recipe, cfg, hp, "; %d steps" % n)

    torch.manual_seed(0)
    model = fam.build(recipe, cfg)
    parity.load_params(model, tensors, "param.")
    parity.note_official_tables(PROG, fam, model, tensors)
    named = list(model.named_parameters())
    names = [nm for nm, _ in named]
    train = set(parity.trainable_names(names, hp["train"], parity.frozen_names(named)))
    for nm, p in named:
        p.requires_grad_(nm in train)
    known = set()
    for nm in names:
        known |= {"param." + nm, "param_final." + nm, "exp_avg." + nm, "exp_avg_sq." + nm}
    for k in range(n):
        known |= {"%s.%d" % (base, k) for base in ("input", "forward_indexes", "labels", "loss")}
    stray = [key for key in tensors if key not in known]
    if stray:
        print("%s: note: ignoring %d tensor(s) the format does not name: %s" % (PROG, len(stray), ", ".join(stray[:8])))
    steps = []
    for k in range(n):
        loss_t = parity.get(tensors, "loss.%d" % k, F32)
        if loss_t.numel() != 1 or loss_t.dim() > 1:
            raise DumpError("tensor 'loss.%d' has shape %s, want [] or [1]" % (k, list(loss_t.shape)))
        steps.append((parity.step_inputs(tensors, recipe, cfg, ".%d" % k), loss_t.reshape(())))

    opt = mae_ref.adamw([p for nm, p in named if nm in train], lrs[0], hp["betas"], hp["eps"], hp["weight_decay"])
    parity.load_adam_state(opt, [(nm, p) for nm, p in named if nm in train], tensors, hp)
    rep = parity.Report(PROG, verbose=True)
    m = hp["micro_batches"]
    for k, ((img, fi, labels), loss_t) in enumerate(steps):
        opt.zero_grad(set_to_none=True)
        losses, _ = parity.run_step(model, recipe, img, fi, labels, m, fam)
        ref = sum(losses) / m
        rep.compare("loss sequence", "loss.%d" % k, loss_t, torch.tensor(ref, dtype=torch.float64),
                    parity.TOL_LOSS_SEQ)
        for group in opt.param_groups:
            group["lr"] = lrs[k]
        opt.step()
    rep.table()

    final = [nm for nm in names if "param_final." + nm in tensors]
    if final:
        worst = max(((parity.error(parity.get(tensors, "param_final." + nm, F32, list(p.shape)), p.detach()), nm)
                     for nm, p in named if nm in final), key=lambda x: x[0][1])
        print("%s: param_final (information, not checked): %d tensors, largest max-normalised difference "
              "%.3e in %s" % (PROG, len(final), worst[0][1], worst[1]))
    return rep.verdict()


if __name__ == "__main__":
    parity.main(PROG, __doc__, check)
