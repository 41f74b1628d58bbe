#!/usr/bin/env bash
# Builds or installs the real peers used by the end-to-end suite (e2e/peers/) into $PEERS_DIR/bin
# (default ~/.cache/spot-termination-handler/peers).
#
# Idempotent: each peer is keyed by its version under .peers/stamps/, so a second run does
# nothing unless a version below changes. Go builds run niced with one package at a time
# because the machine is small and shared; each step logs to .peers/logs/<peer>.log.
#
# Usage: tools/peers/setup.sh [peer...]   (default: all of them)
#   peers: aemm kwok etcd kube moto nth helm actionlint
# Env: PEERS_DIR (default ~/.cache/spot-termination-handler/peers), PEERS_GO_PARALLEL (default 1), PEERS_NICE (default 10).
set -euo pipefail

ETCD_VERSION=v3.6.16
# The module proxy serves k8s.io/kubernetes only up to v1.34.4 in the 1.34 line (v1.34.5 and
# later answer 403), although the staging modules go further; both must be the same patch.
KUBE_VERSION=v1.34.4
KWOK_VERSION=v0.8.0
AEMM_VERSION=v1.13.0
MOTO_VERSION=5.2.5
NTH_VERSION=v1.25.1
# The chart's `helm lint`/`helm template` and the release workflow's `actionlint`.
HELM_VERSION=v3.22.0
# The Kubernetes minor of the client-go that helm v3.22.0 requires (k8s.io/client-go v0.37.0).
HELM_KUBE_MINOR=37
ACTIONLINT_VERSION=v1.7.12

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Outside the checkout so a fresh clone (CI) reuses what an earlier run built on this machine.
PEERS_DIR="${PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/spot-termination-handler/peers}"
BIN="$PEERS_DIR/bin"
LOGS="$PEERS_DIR/logs"
STAMPS="$PEERS_DIR/stamps"
SRC="$PEERS_DIR/src"
mkdir -p "$BIN" "$LOGS" "$STAMPS" "$SRC"

export CGO_ENABLED=0
export GOFLAGS="-p=${PEERS_GO_PARALLEL:-1} -buildvcs=false"
export GOTOOLCHAIN=local
NICE=(nice -n "${PEERS_NICE:-10}")

# Kubernetes staging modules for 1.34 (k8s.io/<name>, tagged v0.<minor>.<patch>).
KUBE_STAGING=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
  cloud-provider cluster-bootstrap code-generator component-base component-helpers
  controller-manager cri-api cri-client csi-translation-lib dynamic-resource-allocation
  endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy
  kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission sample-apiserver
  sample-cli-plugin sample-controller)

log() { printf '%s setup: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# done_already NAME VERSION: true when NAME at VERSION was built before and its outputs exist.
done_already() {
  [[ -f "$STAMPS/$1-$2" ]] || return 1
  local f
  while read -r f; do [[ -e "$PEERS_DIR/$f" ]] || return 1; done <"$STAMPS/$1-$2"
}

# mark_done NAME VERSION OUTPUT...: records the outputs (relative to PEERS_DIR), drops stamps of
# other versions.
mark_done() {
  local name=$1 version=$2
  shift 2
  rm -f "$STAMPS/$name"-*
  printf '%s\n' "$@" >"$STAMPS/$name-$version"
}

# step NAME VERSION FUNCTION OUTPUT...: runs FUNCTION once per version, logging and timing it.
step() {
  local name=$1 version=$2 fn=$3
  shift 3
  if done_already "$name" "$version"; then
    log "$name $version already built"
    return 0
  fi
  log "$name $version: building (log: $LOGS/$name.log)"
  local start=$SECONDS rc
  # The caller runs with set +e; the subshell turns it back on so the first failing command
  # ends the step. (set -e is ignored under if, && and ||, which is why none is used here.)
  (
    set -e
    "$fn"
  ) >"$LOGS/$name.log" 2>&1
  rc=$?
  if ((rc == 0)); then
    mark_done "$name" "$version" "$@"
    log "$name $version: done in $((SECONDS - start))s"
    return 0
  fi
  log "$name $version: FAILED (exit $rc) after $((SECONDS - start))s; end of $LOGS/$name.log:"
  tail -n 15 "$LOGS/$name.log" >&2
  return 1
}

# scratch_module DIR: a fresh Go module to build a peer whose own go.mod has replace directives.
scratch_module() {
  rm -rf "$1"
  mkdir -p "$1"
  (cd "$1" && go mod init peers.local/scratch)
}

build_aemm() {
  GOBIN="$BIN" "${NICE[@]}" go install -ldflags "-s -w" \
    "github.com/aws/amazon-ec2-metadata-mock/cmd/ec2-metadata-mock@$AEMM_VERSION"
  "$BIN/ec2-metadata-mock" --version
}

build_kwok() {
  GOBIN="$BIN" "${NICE[@]}" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  "$BIN/kwok" --version || true
  # kwok does nothing without stages; take the ones its own release ships, from the module cache.
  local stages
  stages="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage"
  mkdir -p "$PEERS_DIR/share"
  local f first=1
  for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    [[ $first == 1 ]] || echo "---"
    first=0
    cat "$stages/$f"
  done >"$PEERS_DIR/share/kwok-stages.yaml"
}

build_etcd() {
  local dir="$SRC/etcd-$ETCD_VERSION"
  scratch_module "$dir"
  cd "$dir"
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  "${NICE[@]}" go build -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3
  "$BIN/etcd" --version
}

build_kube() {
  local dir="$SRC/kubernetes-$KUBE_VERSION" staging="v0.${KUBE_VERSION#v1.}" m
  local minor=${KUBE_VERSION#v1.}
  minor=${minor%%.*}
  scratch_module "$dir"
  cd "$dir"
  for m in "${KUBE_STAGING[@]}"; do
    go mod edit "-replace=k8s.io/$m=k8s.io/$m@$staging"
  done
  go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION" \
    "k8s.io/kubernetes/cmd/kube-controller-manager@$KUBE_VERSION"
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
  ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  "${NICE[@]}" go build -ldflags "$ldflags" -o "$BIN/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
  "$BIN/kube-apiserver" --version
}

build_moto() {
  local venv="$PEERS_DIR/venv"
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  "${NICE[@]}" "$venv/bin/pip" install --disable-pip-version-check -q "moto[server]==$MOTO_VERSION"
  ln -sf "$venv/bin/moto_server" "$BIN/moto_server"
  "$BIN/moto_server" --help | head -n 3
}

build_nth() {
  # `go install …@version` fails here: it looks the module's deprecation up in its version list,
  # which the proxy refuses (403). A scratch module with the requirement written by hand and
  # -mod=mod resolves the rest without that look-up.
  local dir="$SRC/nth-$NTH_VERSION"
  scratch_module "$dir"
  cd "$dir"
  go mod edit "-require=github.com/aws/aws-node-termination-handler@$NTH_VERSION"
  GOFLAGS="$GOFLAGS -mod=mod" "${NICE[@]}" go build -ldflags "-s -w" \
    -o "$BIN/aws-node-termination-handler" github.com/aws/aws-node-termination-handler/cmd
}

build_helm() {
  # As helm's Makefile does: its version, and the Kubernetes version `helm template` and `helm
  # lint` assume without a cluster (otherwise 1.20, which a chart's kubeVersion may refuse).
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1"
  ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$HELM_KUBE_MINOR"
  ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1"
  ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM_KUBE_MINOR"
  GOBIN="$BIN" "${NICE[@]}" go install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  "$BIN/helm" version --short
}

build_actionlint() {
  GOBIN="$BIN" "${NICE[@]}" go install \
    -ldflags "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" \
    "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  "$BIN/actionlint" -version
}

run_peer() {
  case "$1" in
    aemm) step aemm "$AEMM_VERSION" build_aemm bin/ec2-metadata-mock ;;
    kwok) step kwok "$KWOK_VERSION" build_kwok bin/kwok share/kwok-stages.yaml ;;
    etcd) step etcd "$ETCD_VERSION" build_etcd bin/etcd ;;
    kube) step kube "$KUBE_VERSION" build_kube bin/kube-apiserver bin/kube-controller-manager ;;
    moto) step moto "$MOTO_VERSION" build_moto bin/moto_server ;;
    # Optional: only the benchmarks use it, so its failure does not fail the setup.
    nth)
      step nth "$NTH_VERSION" build_nth bin/aws-node-termination-handler
      (($? == 0)) || log "nth is optional; continuing without it"
      ;;
    # The chart's tests and the workflow lint; the suite runs without them and says so.
    helm) step helm "$HELM_VERSION-kube1.$HELM_KUBE_MINOR" build_helm bin/helm ;;
    actionlint) step actionlint "$ACTIONLINT_VERSION" build_actionlint bin/actionlint ;;
    *)
      log "unknown peer '$1' (known: aemm kwok etcd kube moto nth helm actionlint)"
      return 2
      ;;
  esac
}

peers=("$@")
[[ ${#peers[@]} -gt 0 ]] || peers=(moto aemm kwok etcd kube nth helm actionlint)
total_start=$SECONDS
failed=()
for p in "${peers[@]}"; do
  set +e
  run_peer "$p"
  rc=$?
  set -e
  ((rc == 0)) || failed+=("$p")
done
log "finished in $((SECONDS - total_start))s; binaries in $BIN"
if [[ ${#failed[@]} -gt 0 ]]; then
  log "failed: ${failed[*]}"
  exit 1
fi
