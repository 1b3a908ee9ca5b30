#!/bin/sh
# Picks the component to run from the first argument; the rest are its flags.
#   node: a lab node. The kubelet runs under this shell, which restarts it when it exits (as
#   systemd does on a real node) and is the container's PID 1: pods join this container's PID
#   namespace, so when the node container stops, as a machine losing power, its pods stop too.
set -e
component="${1:-}"
[ $# -gt 0 ] && shift
case "$component" in
  kubelab) exec node /app/cli/bin/kubelab.js "$@" ;;
  apiserver|scheduler|controller-manager|cloud-controller-manager|kubelet|kube-proxy|dns|pod-network|metrics-server)
    exec node "/app/services/$component/dist/main.js" "$@" ;;
  node)
    child=0
    trap 'kill -TERM $child 2>/dev/null; exit 0' TERM INT
    while :; do
      node /app/services/kubelet/dist/main.js "$@" &
      child=$!
      wait $child || true
      echo "node: kubelet exited; restarting in 1s" >&2
      sleep 1
    done ;;
  *)
    echo "usage: <apiserver|scheduler|controller-manager|cloud-controller-manager|kubelet|kube-proxy|dns|pod-network|metrics-server|node|kubelab> [flags...]" >&2
    exit 2 ;;
esac
