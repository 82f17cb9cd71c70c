#!/usr/bin/env bash
# trainer.sh MAEC OUT_DIR: the generated trainer against lost work (docs/robustness.md):
# the numerical guard (a non-finite loss or gradient norm stops the run naming the step,
# keeps the last checkpoint, lists the step's images), --detect-anomaly (names the first
# kernel and DSL line that made a NaN), --checkpoint-every, a SIGKILL at random moments
# followed by --resume continuing bitwise identically to a run never stopped (CPU), and a
# memory plan larger than the machine refused with a message. Runs tests/robustness/linear.dsl
# on CIFAR-10 (MAEC_DATA, default ../shared/data/cifar10), or without it on random images in
# its format (tests/make_cifar.py).
set -euo pipefail
trap 'echo "FAIL trainer.sh line $LINENO: a command failed unexpectedly: $BASH_COMMAND"' ERR
maec=$(realpath "$1")
out=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${MAEC_DATA:-$root/../shared/data/cifar10}
rm -rf "$out"
mkdir -p "$out"
# shellcheck source=../lib.sh
. "$root/tests/lib.sh"
cifar_or_random
dsl=$root/tests/robustness/linear.dsl
st="python3 $root/tests/robustness/stfile.py"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; [ -f "$out/$1.log" ] && tail -n 20 "$out/$1.log"; }
# has NAME TEXT: the log of NAME holds TEXT (a fixed string)
has() { grep -qF -- "$2" "$out/$1.log"; }

"$maec" "$dsl" -o "$out/lin"
t=("$out/lin")
common=(--data "$data" --threads 1 --log-every 100000)

# --- the guard on the loss: recipe diverge overflows to -inf after a few epochs of 2 steps
name=guard.loss
rc=0
"${t[@]}" diverge "${common[@]}" --limit 64 --out "$out/div" >"$out/$name.log" 2>&1 || rc=$?
step=$(sed -n 's/^trainer: step \([0-9]*\) (epoch [0-9]*): the loss of micro-batch .* is -inf; training stops before the update$/\1/p' "$out/$name.log")
ck_step=$(sed -n 's/^trainer: the last good checkpoint, of step \([0-9]*\), is .*diverge.safetensors (kept as it is)$/\1/p' "$out/$name.log")
rows=$(($(cat "$out/div/metrics.csv" 2>/dev/null | wc -l) - 1))
if [ "$rc" -ne 1 ] || [ -z "$step" ] || [ -z "$ck_step" ]; then
	fail $name "exit $rc, or no message naming the step and the checkpoint"
elif [ "$rows" -ne $((step - 1)) ]; then
	fail $name "metrics.csv has $rows steps; the guard stopped step $step"
elif [ "$ck_step" -ge "$step" ] || [ "$ck_step" -lt 1 ]; then
	fail $name "the checkpoint is of step $ck_step, the bad step $step"
elif [ "$($st "$out/div/diverge.safetensors" micro_batches_done)" != "$((ck_step * 2))" ]; then
	fail $name "the checkpoint file is not of step $ck_step"
elif ! $st "$out/div/diverge.safetensors" --finite >/dev/null; then
	fail $name "the checkpoint holds non-finite parameters"
elif ! has $name "the step's 16 images are listed in $out/div/nonfinite-step-$step.txt" ||
	[ "$(grep -vc '^#' "$out/div/nonfinite-step-$step.txt")" -ne 16 ] ||
	[ "$(awk '!/^#/ && ($1 < 0 || $1 >= 64)' "$out/div/nonfinite-step-$step.txt" | wc -l)" -ne 0 ]; then
	fail $name "no list of the step's 16 images (dataset indexes 0..63)"
else
	ok "$name (stopped at step $step, checkpoint of step $ck_step kept)"
fi
# the checkpoint it kept resumes: the same step fails again, at the same place
name=guard.resume
rc=0
"${t[@]}" diverge "${common[@]}" --limit 64 --resume "$out/div" >"$out/$name.log" 2>&1 || rc=$?
if [ "$rc" -eq 1 ] && has $name "trainer: step $step (epoch" && has $name "of step $ck_step"; then
	ok $name
else
	fail $name "resuming from the kept checkpoint did not stop at step $step again"
fi

# --- the guard on the gradient norm: recipe badgrad's loss is finite, its gradient NaN
name=guard.gradient
rc=0
"${t[@]}" badgrad "${common[@]}" --limit 64 --out "$out/bg" >"$out/$name.log" 2>&1 || rc=$?
if [ "$rc" -eq 1 ] && has $name "trainer: step 1 (epoch 0): the gradient norm is nan (first in the gradient of linear.w); training stops before the update" &&
	has $name "trainer: no checkpoint was written before it" && [ -f "$out/bg/nonfinite-step-1.txt" ]; then
	ok $name
else
	fail $name "exit $rc, or not the expected message"
fi

# --- --detect-anomaly names the op and DSL line of the first NaN; without it, the guard
line=$(grep -n 'y = log(x)' "$dsl" | cut -d: -f1)
name=anomaly.detect
rc=0
"${t[@]}" anomaly "${common[@]}" --limit 64 --out "$out/an" --detect-anomaly >"$out/$name.log" 2>&1 || rc=$?
if [ "$rc" -eq 1 ] && has $name "trainer: --detect-anomaly: $dsl:$line:9 in anomaly.loss: 'log' produced nan"; then
	ok $name
else
	fail $name "exit $rc, or no message naming 'log' at line $line"
fi
name=anomaly.guard
rc=0
"${t[@]}" anomaly "${common[@]}" --limit 64 --out "$out/an2" >"$out/$name.log" 2>&1 || rc=$?
if [ "$rc" -eq 1 ] && has $name "trainer: step 1 (epoch 0): the loss of micro-batch 1 of 1 is nan"; then
	ok $name
else
	fail $name "exit $rc"
fi
name=anomaly.clean
rc=0
"${t[@]}" train "${common[@]}" --detect-anomaly --steps 2 --out "$out/ok" >"$out/$name.log" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then ok "$name (a clean run passes every check)"; else fail $name "exit $rc"; fi

# --- --checkpoint-every: checkpoints within an epoch, each stamped with its step
name=checkpoint.every
rc=0
"${t[@]}" train "${common[@]}" --limit 4096 --epochs 1 --checkpoint-every 0.0002 --out "$out/every" \
	>"$out/$name.log" 2>&1 || rc=$?
n=$(grep -c '^checkpoint at step' "$out/$name.log" || true)
if [ "$rc" -eq 0 ] && [ "$n" -ge 2 ] && [ "$($st "$out/every/train.safetensors" micro_batches_done)" = 256 ]; then
	ok "$name ($n checkpoints within the epoch)"
else
	fail $name "exit $rc, $n checkpoints within the epoch"
fi
name=checkpoint.every.bad
rc=0
"${t[@]}" train "${common[@]}" --checkpoint-every 0 >"$out/$name.log" 2>&1 || rc=$?
if [ "$rc" -eq 2 ] && has $name "trainer: --checkpoint-every needs minutes in (0, 10080], got '0'"; then
	ok $name
else
	fail $name "exit $rc"
fi

# --- SIGKILL at random moments, then --resume: the metrics of every step, bit for bit, as a
# run never stopped. Checkpoints every epoch (16 steps) and every 0.1 s within.
run=("${t[@]}" train "${common[@]}" --limit 512 --epochs 150 --checkpoint-every 0.0017)
name=kill.whole
t0=$(date +%s%N)
"${run[@]}" --out "$out/whole" >"$out/$name.log" 2>&1 && ok $name || fail $name "the uninterrupted run failed"
whole_ms=$((($(date +%s%N) - t0) / 1000000))
name=kill.resume
RANDOM=${MAEC_KILL_SEED:-$$}
kills=0
resumes=0
for attempt in $(seq 1 30); do
	if [ -f "$out/killed/train.safetensors" ]; then
		"${run[@]}" --resume "$out/killed" >>"$out/$name.log" 2>&1 &
		resumes=$((resumes + 1))
	else
		rm -rf "$out/killed"
		"${run[@]}" --out "$out/killed" >>"$out/$name.log" 2>&1 &
	fi
	pid=$!
	# a random moment within the first 5 to 60 % of the uninterrupted run's time (a resumed
	# run, which has less left to do, may finish first: then the loop ends)
	delay=$((whole_ms * (5 + RANDOM % 56) / 100))
	sleep "$((delay > 20 ? delay : 20))e-3"
	if kill -9 "$pid" 2>/dev/null; then
		kills=$((kills + 1))
		echo "-- killed after a random delay" >>"$out/$name.log"
	fi
	wait "$pid" 2>/dev/null && break || true
	[ "$kills" -ge 5 ] && break
done
"${run[@]}" --resume "$out/killed" >>"$out/$name.log" 2>&1 || true
want=$(cut -d, -f1-5 "$out/whole/metrics.csv" | md5sum)
got=$(cut -d, -f1-5 "$out/killed/metrics.csv" | md5sum)
partial=$(find "$out/killed" -name '*.tmp.*' | wc -l)
if [ "$kills" -ge 1 ] && [ "$want" = "$got" ] && [ "$partial" -eq 0 ]; then
	ok "$name ($kills kills in a run of $whole_ms ms, $resumes resumes, $(($(wc -l <"$out/whole/metrics.csv") - 1)) steps identical)"
else
	fail $name "$kills kills, $partial half-written files left; metrics differ from the uninterrupted run: $(diff <(cut -d, -f1-5 "$out/whole/metrics.csv") <(cut -d, -f1-5 "$out/killed/metrics.csv") | head -5)"
fi
# a checkpoint whose optimizer file was not renamed into place: the model's stamp picks the
# other (the state after a kill between the two renames of save_checkpoint)
name=kill.between.renames
rm -rf "$out/torn" && cp -r "$out/whole" "$out/torn"
mv "$out/torn/train.optim.safetensors" "$out/torn/train.optim.next.safetensors"
cp "$out/every/train.optim.safetensors" "$out/torn/train.optim.safetensors" # of another step
rc=0
"${run[@]}" --epochs 151 --resume "$out/torn" >"$out/$name.log" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && has $name "the run stopped while writing its checkpoint; using $out/torn/train.optim.next.safetensors"; then
	ok $name
else
	fail $name "exit $rc"
fi
name=kill.mismatch
rm -f "$out/torn/train.optim.next.safetensors"
cp "$out/every/train.optim.safetensors" "$out/torn/train.optim.safetensors"
rc=0
"${run[@]}" --epochs 152 --resume "$out/torn" >"$out/$name.log" 2>&1 || rc=$?
if [ "$rc" -eq 1 ] && has $name "the checkpoint files do not belong together"; then ok $name; else fail $name "exit $rc"; fi
name=resume.truncated
rm -rf "$out/trunc" && cp -r "$out/whole" "$out/trunc"
head -c 1000 "$out/whole/train.safetensors" >"$out/trunc/train.safetensors"
rc=0
"${run[@]}" --resume "$out/trunc" >"$out/$name.log" 2>&1 || rc=$?
if [ "$rc" -eq 1 ] && has $name "$out/trunc/train.safetensors"; then ok $name; else fail $name "exit $rc"; fi

# --- a memory plan larger than the machine: refused before anything is allocated
name=memory.plan
sed -e 's/batch = 32/batch = 1048576/; s/micro_batch = 16/micro_batch = 1048576/' \
	-e 's|logits = linear(reshape(x, \[B, 3 \* 32 \* 32\]))|logits = linear(reshape(x, [B, 3 * 32 * 32])) + mean(exp(zeros([B, 10, 196608])), axes = [2])|' \
	"$dsl" >"$out/huge.dsl"
if "$maec" "$out/huge.dsl" -o "$out/huge" >"$out/$name.log" 2>&1; then
	rc=0
	"$out/huge" train "${common[@]}" --limit 64 --out "$out/huge-run" >>"$out/$name.log" 2>&1 || rc=$?
	if [ "$rc" -eq 1 ] && has $name "more than this machine's" && has $name "trainer: recipe 'train' needs"; then
		ok $name
	else
		fail $name "exit $rc"
	fi
else
	fail $name "maec failed"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
