#!/usr/bin/env bash
# bench-proxy: skiff-kube-proxy's sync times against real iptables, in a
# network namespace made for the run (never the machine's own rules), and
# a dated section appended to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ns="skpbench$$"
out=$(mktemp -d)
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT
(cd kube-proxy && go test -c -o "$out/proxier.test" ./internal/proxier)
ip netns add "$ns"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
nsenter --net="/run/netns/$ns" "$out/proxier.test" \
  -test.run='^$' -test.bench=BenchmarkProxierSync -test.benchtime="${BENCHTIME:-1x}" | tee "$out/result"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
grep -q '^PASS' "$out/result" || { echo "benchmark failed" >&2; exit 1; }
{
  echo
  echo "## kube-proxy sync (make bench-proxy), $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), virtual machine), $(iptables --version),"
  echo "  $(go version | cut -d' ' -f3-); load average (1, 5, 15 min) $load_before before, $load_after after."
  echo "- ms: wall time; cpu-ms: user+system time of the proxier and its iptables-restore/iptables-save children."
  echo
  echo '```'
  grep -E '^Benchmark' "$out/result"
  echo '```'
} >> docs/benchmarks.md
echo "appended to docs/benchmarks.md"
