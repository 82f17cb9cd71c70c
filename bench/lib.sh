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
machine() { # the line that names this machine
	echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GiB"
}
