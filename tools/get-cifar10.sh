#!/usr/bin/env bash
# Downloads CIFAR-10's binary version from its authors' page, checks the archive against its
# published MD5 and unpacks the six .bin files into DIR (default: data/cifar10 in the
# repository, where tools/quickstart.sh looks). Without network access it says so and how
# to do it by hand: fetch the archive elsewhere and pass it with --archive FILE.
#
# usage: tools/get-cifar10.sh [--archive FILE] [DIR]
set -euo pipefail
url=https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
md5=c32a1d4ab5d03f1284b67883e8d87530 # as published on https://www.cs.toronto.edu/~kriz/cifar.html
root=$(cd "$(dirname "$0")/.." && pwd)
archive=""
dir=""
while [ $# -gt 0 ]; do
	case $1 in
	--archive) archive=${2:?--archive needs a file}; shift 2 ;;
	-h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "get-cifar10.sh: unknown option '$1'" >&2; exit 2 ;;
	*) dir=$1; shift ;;
	esac
done
dir=${dir:-$root/data/cifar10}
files=(data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin)

have=1
for f in "${files[@]}"; do [ -f "$dir/$f" ] || have=0; done
if [ $have -eq 1 ] && [ -z "$archive" ]; then
	echo "CIFAR-10 is already in $dir"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$archive" ]; then
	archive=$tmp/cifar-10-binary.tar.gz
	echo "downloading $url (163 MB)"
	if command -v curl >/dev/null; then
		fetch=(curl -fsSL --retry 2 --connect-timeout 20 -o "$archive" "$url")
	elif command -v wget >/dev/null; then
		fetch=(wget -q --tries=2 --timeout=20 -O "$archive" "$url")
	else
		echo "get-cifar10.sh: neither curl nor wget is installed (apt-get install curl)" >&2
		exit 1
	fi
	if ! "${fetch[@]}"; then
		cat >&2 <<MSG
get-cifar10.sh: cannot download $url: this machine has no access to it
(no network, or a proxy or firewall in the way). Download cifar-10-binary.tar.gz from
https://www.cs.toronto.edu/~kriz/cifar.html on a machine that has, copy it here, and run
  tools/get-cifar10.sh --archive cifar-10-binary.tar.gz $dir
Without CIFAR-10, tools/quickstart.sh pretrains on Fashion-MNIST, which needs no download.
MSG
		exit 1
	fi
fi
if [ ! -f "$archive" ]; then
	echo "get-cifar10.sh: $archive: no such file" >&2
	exit 1
fi
got=$(md5sum "$archive" | cut -d' ' -f1)
if [ "$got" != "$md5" ]; then
	echo "get-cifar10.sh: $archive has MD5 $got, not $md5: not the official cifar-10-binary.tar.gz, or damaged" >&2
	exit 1
fi
tar -xzf "$archive" -C "$tmp" cifar-10-batches-bin
mkdir -p "$dir"
for f in "${files[@]}"; do mv "$tmp/cifar-10-batches-bin/$f" "$dir/$f"; done
echo "CIFAR-10 is in $dir (MD5 of the archive $md5, as published)"
