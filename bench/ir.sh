#!/bin/sh
# Instructions per op of one hot-path case under callgrind: bench/ir.sh CASE [als|fresh] [node]
# (run from the repo root after a build). Prints Ir/op from two runs (N1=5k, N2=15k ops).
set -e
c=$1; mode=${2:-fresh}; node=${3:-node}
ir() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null $node --single-threaded ${DIST:-dist}/bench/ir-driver.js "$c" "$1" "$mode" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
a=$(ir 5000); b=$(ir 15000)
echo "$c $mode $($node --version): $(( (b - a) / 10000 )) Ir/op"
