#!/usr/bin/env bash
# Builds base images from this machine's own binaries, for when no container registry can be
# reached: kubelab/busybox-base:local (busybox alone, for the pause and shell images),
# kubelab/node-base:local (node), kubelab/etcd-base:local (etcd, etcdctl) and
# kubelab/netutil-base:local (iptables and tc, for `kubelab chaos`), each with
# busybox for a shell and the shared libraries ldd names. Rebuilds only what is missing, or all
# with --force.
set -euo pipefail

force=${1:-}

need() { command -v "$1" >/dev/null || { echo "build-local-bases: $1 not found ($2)" >&2; exit 1; }; }
need busybox "apt-get install busybox-static"

# rootfs DIR BIN... : a minimal root with the binaries under /usr/local/bin, their libraries and busybox.
make_rootfs() {
  local root=$1; shift
  mkdir -p "$root"/{bin,usr/local/bin,etc,tmp,root,var/lib,lib64,etc/ssl/certs}
  chmod 1777 "$root/tmp"
  cp "$(command -v busybox)" "$root/bin/busybox"
  for applet in $(busybox --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  for bin in "$@"; do
    cp "$(readlink -f "$(command -v "$bin")")" "$root/usr/local/bin/$bin"
    ldd "$(command -v "$bin")" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  done
  if [ -e "$root/usr/local/bin/xtables-nft-multi" ]; then
    for name in iptables iptables-save iptables-restore; do ln -sf xtables-nft-multi "$root/usr/local/bin/$name"; done
    # Resolved, since iptables looks for its modules under the /usr path it was built with.
    xt=$(dirname "$(readlink -f "$(ldd "$(command -v xtables-nft-multi)" | grep -o '/[^ ]*libxtables[^ ]*')")")/xtables
    mkdir -p "$root$xt"
    cp -L "$xt"/*.so "$root$xt/"
    for lib in $(ldd "$xt"/*.so 2>/dev/null | grep -o '=> /[^ ]*' | cut -c4- | sort -u); do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  fi
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  [ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  return 0
}

build() {
  local tag=$1; shift
  if [ "$force" != "--force" ] && docker image inspect "$tag" >/dev/null 2>&1; then
    echo "build-local-bases: $tag exists"
    return
  fi
  local root
  root=$(mktemp -d)
  trap 'rm -rf "$root"' RETURN
  make_rootfs "$root" "$@"
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'LABEL io.kubelab.lab=true' \
    - "$tag" >/dev/null
  echo "build-local-bases: built $tag"
}

build kubelab/busybox-base:local
need node "the machine's Node runtime"
build kubelab/node-base:local node
need etcd "apt-get install etcd-server etcd-client"
build kubelab/etcd-base:local etcd etcdctl
need iptables "apt-get install iptables"
need tc "apt-get install iproute2"
# iptables is one multi-call binary and its match and target modules; tc for netem.
build kubelab/netutil-base:local xtables-nft-multi tc
