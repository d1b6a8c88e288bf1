#!/usr/bin/env bash
# make up: a local control plane in the foreground, plaintext on 127.0.0.1.
# Starts skiff-apiserver (embedded etcd in .skiff/etcd), waits until it is
# ready, then skiff-scheduler and skiff-controller-manager. Ctrl-C stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
PORT=${PORT:-6443}
mkdir -p .skiff
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop EXIT INT TERM

"$BIN/skiff-apiserver" --insecure --bind-address 127.0.0.1 --secure-port "$PORT" \
  --data-dir .skiff/etcd --log-format console &
pids+=($!)
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "skiff-apiserver did not become ready" >&2; exit 1; }

"$BIN/skiff-scheduler" --server "http://127.0.0.1:$PORT" --bind-address 127.0.0.1 --log-format console &
pids+=($!)
"$BIN/skiff-controller-manager" --server "http://127.0.0.1:$PORT" --bind-address 127.0.0.1 --log-format console &
pids+=($!)
echo "Skiff is up: skiffctl --server http://127.0.0.1:$PORT get nodes   (Ctrl-C stops it)"
wait -n
