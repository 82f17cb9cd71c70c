# shellcheck shell=bash disable=SC2034
# bench/lib.sh: what the CPU benchmarks share (sourced). The arguments BATCH THREADS ROUNDS
# STEPS (defaults 64, all cores, 5, 3), the statistics of their rounds, and the machine.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
batch=${1:-64}
threads=${2:-$(nproc)}
rounds=${3:-5}
steps=${4:-3}
warm=2
data=${MAEC_DATA:-$root/../shared/data/cifar10}
out=$root/build-bench

stat3() { # min median max of the numbers on stdin
	sort -g | awk '{a[NR] = $1} END {printf "%.2f %.2f %.2f\n", a[1], (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2, a[NR]}'
}
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
compare() { # BASE-NAME OURS-NAME WHAT ours/base|base/ours BASE-ROUNDS... -- OURS-ROUNDS...: each
	# series' min, median and max of img/s, then WHAT, that ratio of the medians
	local bname=$1 oname=$2 what=$3 ratio=$4 base=() ours=() side=base
	shift 4
	for x in "$@"; do
		if [ "$x" = -- ]; then side=ours; elif [ $side = base ]; then base+=("$x"); else ours+=("$x"); fi
	done
	read -r bmin bmed bmax < <(printf "%s\n" "${base[@]}" | stat3)
	read -r omin omed omax < <(printf "%s\n" "${ours[@]}" | stat3)
	echo "$bname: img/s min $bmin median $bmed max $bmax   (rounds: ${base[*]})"
	echo "$oname: img/s min $omin median $omed max $omax   (rounds: ${ours[*]})"
	awk -v b="$bmed" -v o="$omed" -v w="$what" -v r="$ratio" \
		'BEGIN { printf "%s: %.3f (ratio of the medians)\n", w, r == "ours/base" ? o / b : b / o }'
}
machine() { # the line that names this machine
	echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GiB"
}
