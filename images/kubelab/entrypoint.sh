#!/bin/sh
# Picks the component to run from the first argument; the rest are its flags.
set -e
component="${1:-}"
[ $# -gt 0 ] && shift
case "$component" in
  kubelab) exec node /app/cli/bin/kubelab.js "$@" ;;
  apiserver|scheduler|controller-manager|kubelet|kube-proxy|dns)
    exec node "/app/services/$component/dist/main.js" "$@" ;;
  *)
    echo "usage: <apiserver|scheduler|controller-manager|kubelet|kube-proxy|dns|kubelab> [flags...]" >&2
    exit 2 ;;
esac
