#!/usr/bin/env bash
# make up: a single-node Skiff cluster in the foreground, as root.
#
# Installs what is missing (Debian packages), builds, builds the test images
# (when `make images` exists), then runs `skiff-lab up` for one host that is
# both master and node: skiff-apiserver (embedded etcd), skiff-scheduler and,
# when their binaries exist, skiff-controller-manager, containerd +
# skiff-kubelet and skiff-kube-proxy, each its own process inside the network
# namespace sklup-m1, which has no route out of the machine. skiff-lab relays
# 127.0.0.1:$PORT to that apiserver (TLS, certificates in dev-certs/) and
# writes the admin's config to ~/.skiff/config (under sudo, the invoking
# user's, owned by them). Logs are prefixed with
# host/daemon. Ctrl-C stops every daemon and removes the namespaces, their
# rules and the containers with them. INSECURE=1 runs the apiserver with
# --insecure (plaintext, no authentication) for the README's tours.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/bin}
PORT=${PORT:-6443}
PREFIX=${PREFIX:-sklup}
MAKE=${MAKE:-make}

if [[ $(id -u) != 0 ]]; then
  echo "make up needs root: it creates network namespaces and runs containerd" >&2
  exit 1
fi

# Debian packages, checked by name as .ci/run does.
packages=(iproute2 iptables util-linux curl containerd runc)
need=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

"$MAKE" --no-print-directory build
security=(--pki "$PWD/dev-certs")
if [[ ${INSECURE:-} == 1 ]]; then
  security=(--insecure)
fi
images=()
if "$MAKE" -n images >/dev/null 2>&1; then
  "$MAKE" --no-print-directory images
  images=(--images "$PWD/_output/images")
fi

# Under sudo, the config goes to the home of the user who ran sudo (owned by
# them), so that their skiffctl finds the cluster with no flags.
config=${SKIFF_CONFIG:-$HOME/.skiff/config}
if [[ -z ${SKIFF_CONFIG:-} && -n ${SUDO_USER:-} && $SUDO_USER != root ]]; then
  sudo_home=$(getent passwd "$SUDO_USER" | cut -d: -f6)
  if [[ -n $sudo_home && -d $sudo_home ]]; then
    config=$sudo_home/.skiff/config
    export SKIFF_SUDO_HOME=$sudo_home
  fi
fi

# A run killed without its Ctrl-C left its lab: remove it first.
if [[ -e /var/lib/skiff-lab/$PREFIX/lab.json ]] || ip netns list | grep -q "^$PREFIX-"; then
  "$BIN/skiff-lab" --prefix "$PREFIX" down
fi

exec "$BIN/skiff-lab" --prefix "$PREFIX" up --foreground \
  --masters 1 --nodes 0 --masters-schedulable \
  --bin "$BIN" "${security[@]}" "${images[@]}" \
  --forward "127.0.0.1:$PORT" --write-kubeconfig "$config"
