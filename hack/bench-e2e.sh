#!/usr/bin/env bash
# bench-e2e: on a lab of one master and two nodes with every daemon (the
# registry seeded with the test images), the time from `skiffctl create
# deployment web --replicas=10` of an image pulled from the lab registry to
# all ten pods Ready, RUNS times (3 by default), each on a fresh lab; a dated
# section is appended to docs/benchmarks.md. Root; lab prefix skb.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
out=$(mktemp -d)
state="$out/state"
lab() { "$out/bin/skiff-lab" --prefix skb --state "$state" "$@"; }
cleanup() { [ -e "$state/lab.json" ] && lab down >/dev/null 2>&1 || true; rm -rf "$out"; }
trap cleanup EXIT
mkdir -p "$out/bin" "$out/images"
go build -o "$out/bin/" skiff.dev/apiserver/cmd/skiff-apiserver skiff.dev/scheduler/cmd/skiff-scheduler \
  skiff.dev/ctl/cmd/skiffctl skiff.dev/e2e/cmd/skiff-registry skiff.dev/e2e/cmd/skiff-lab \
  skiff.dev/controller-manager/cmd/skiff-controller-manager skiff.dev/kubelet/cmd/skiff-kubelet \
  skiff.dev/kube-proxy/cmd/skiff-kube-proxy
(cd kubelet && CGO_ENABLED=0 go run ./cmd/skiff-mkimage --out "$out/images" >/dev/null)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
results=()
for run in $(seq "$runs"); do
  lab up --masters 1 --nodes 2 --bin "$out/bin" --images "$out/images" >/dev/null
  for i in $(seq 120); do
    lab exec m1 -- skiffctl get nodes 2>/dev/null | grep -c ' Ready ' | grep -qx 2 && break
    [ "$i" = 120 ] && { echo "nodes not Ready" >&2; exit 1; }
    sleep 1
  done
  start=$(date +%s.%N)
  lab exec m1 -- skiffctl create deployment web --image=10.77.0.3:5000/testserver:1.0 --replicas=10 >/dev/null
  ready=""
  for i in $(seq 1200); do
    n=$(lab exec m1 -- skiffctl get pods -l app=web --no-headers 2>/dev/null | grep -c ' 1/1 *Running ' || true)
    if [ "$n" = 10 ]; then ready=$(date +%s.%N); break; fi
    sleep 0.2
  done
  [ -n "$ready" ] || { echo "run $run: 10 pods not Ready within the bound" >&2; exit 1; }
  secs=$(printf "%.2f" "$(echo "$ready - $start" | bc)")
  echo "run $run: $secs s"
  results+=("$secs")
  lab down >/dev/null
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo
  echo "## Deployment of 10 replicas on 2 nodes, create to all Ready (make bench-e2e), $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), virtual machine),"
  echo "  $(go version | cut -d' ' -f3-); load average (1, 5, 15 min) $load_before before, $load_after after."
  echo "- Lab of 1 master + 2 nodes, every daemon; \`skiffctl create deployment web --replicas=10\` of"
  echo "  10.77.0.3:5000/testserver:1.0 (pulled from the lab registry) until \`skiffctl get pods\` shows ten"
  echo "  pods 1/1 Running (polled every 0.2 s plus the time of a skiffctl call), a fresh lab per run."
  echo "- Seconds, $runs runs: ${results[*]}"
} >> docs/benchmarks.md
echo "appended to docs/benchmarks.md"
