#!/usr/bin/env bash
# Build a real Kubernetes control plane (kube-apiserver, kube-controller-manager, etcd)
# from the Go module proxy and cache it outside the repository.
#
#   shim-operator/test-env/build-control-plane.sh              # build (or reuse) the binaries
#   shim-operator/test-env/build-control-plane.sh --print-dir  # print the bin dir and exit
#
# Output: ${BESKAR7_CACHE:-$HOME/.cache/beskar7}/k8s/<K8S_VERSION>/bin/{kube-apiserver,kube-controller-manager,etcd}
# Go's module and build caches live under the same root (k8s/gomodcache, k8s/gocache), so a
# rerun after deleting bin/ rebuilds offline in a fraction of the time. Nothing is written to the repo.
set -euo pipefail

# ---- pins ------------------------------------------------------------------------------------------
# k8s.io/kubernetes; needs go >= 1.26.0. (v1.37.x is listed by the proxy reachable here, but its
# module zip answers "403 ... not available"; v1.36.3 is the newest release whose zip it serves.)
K8S_VERSION="v1.36.3"
K8S_STAGING_VERSION="v0.${K8S_VERSION#v1.}"   # k8s.io/api etc. are published as v0.<minor>.<patch>
ETCD_VERSION="v3.6.16"                # go.etcd.io/etcd/server/v3 (kubernetes v1.36.3 itself uses 3.6.8)

# ---- paths -----------------------------------------------------------------------------------------
CACHE_ROOT="${BESKAR7_CACHE:-$HOME/.cache/beskar7}"
K8S_ROOT="$CACHE_ROOT/k8s"
BIN_DIR="$K8S_ROOT/$K8S_VERSION/bin"
BINARIES=(kube-apiserver kube-controller-manager etcd)

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
  --print-dir) echo "$BIN_DIR"; exit 0 ;;
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "error: unknown argument: $1" >&2; usage >&2; exit 2 ;;
esac

log() { printf '[build-control-plane] %s\n' "$*" >&2; }
die() { printf '[build-control-plane] error: %s\n' "$*" >&2; exit 1; }

# True when every binary exists, runs, and reports the pinned version.
binaries_ok() {
  local b out
  for b in "${BINARIES[@]}"; do
    [[ -x "$BIN_DIR/$b" ]] || return 1
  done
  out=$("$BIN_DIR/kube-apiserver" --version 2>&1) && [[ "$out" == *"$K8S_VERSION"* ]] || return 1
  out=$("$BIN_DIR/kube-controller-manager" --version 2>&1) && [[ "$out" == *"$K8S_VERSION"* ]] || return 1
  out=$("$BIN_DIR/etcd" --version 2>&1) && [[ "$out" == *"${ETCD_VERSION#v}"* ]] || return 1
}

print_paths() {
  local b
  for b in "${BINARIES[@]}"; do echo "$BIN_DIR/$b"; done
}

if binaries_ok; then
  log "control plane present (Kubernetes $K8S_VERSION, etcd $ETCD_VERSION)"
  print_paths
  exit 0
fi

command -v go >/dev/null 2>&1 || die "the Go toolchain ('go') is not on PATH; it is needed to build the control plane"

# shellcheck source=go-build-lib.sh
source "$(dirname "$0")/go-build-lib.sh"
PINNED="k8s.io/kubernetes@$K8S_VERSION"
if ! take_build_lock "$K8S_ROOT" binaries_ok; then
  log "control plane present (built by a concurrent run)"
  print_paths
  exit 0
fi
go_environment "$K8S_ROOT"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/beskar7-k8s-build.XXXXXX")"
STAGE="$K8S_ROOT/$K8S_VERSION/bin.partial.$$"
cleanup() { rm -rf "$WORK" "$STAGE"; }
trap cleanup EXIT
LOG="$WORK/step.log"
START=$SECONDS

log "Go: $(go version)"
log "cache root: $K8S_ROOT"

# ---- preflight: the proxy (or the module cache) must have the pinned kubernetes module -----------
step "fetch k8s.io/kubernetes@$K8S_VERSION go.mod from the module proxy" \
  go mod download -json "k8s.io/kubernetes@$K8S_VERSION"
K8S_GOMOD="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' "$LOG")"
[[ -n "$K8S_GOMOD" && -f "$K8S_GOMOD" ]] || { cat "$LOG" >&2; die "could not locate go.mod of k8s.io/kubernetes@$K8S_VERSION"; }

# Staging modules: replaced with ./staging/src/... in kubernetes' go.mod and required there as v0.0.0.
mapfile -t STAGING < <(awk '
  $2 == "=>" && $3 ~ /^\.\/staging\// { rep[$1] = 1 }
  $2 == "v0.0.0" { req[$1] = 1 }
  END { for (m in rep) if (m in req) print m }' "$K8S_GOMOD" | sort)
(( ${#STAGING[@]} > 0 )) || die "found no staging modules in $K8S_GOMOD (unexpected go.mod layout)"
log "${#STAGING[@]} staging modules -> $K8S_STAGING_VERSION"

# ---- kube-apiserver + kube-controller-manager ----------------------------------------------------
mkdir -p "$WORK/k8s" "$WORK/etcd" "$STAGE"
# (set -e does not apply inside functions run from an `if`, hence the && chains)
build_k8s() (
  local m args=()
  for m in "${STAGING[@]}"; do args+=("-replace=$m=$m@$K8S_STAGING_VERSION"); done
  cd "$WORK/k8s" &&
    go mod init beskar7.local/k8s-control-plane &&
    go mod edit "${args[@]}" &&
    go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
           "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION"
)
step "resolve k8s.io/kubernetes@$K8S_VERSION with staging replaces (downloads modules)" build_k8s

minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
build_date="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$GOMODCACHE/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.info" 2>/dev/null || true)"
LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LDFLAGS+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=module-proxy"
  [[ -n "$build_date" ]] && LDFLAGS+=" -X $pkg.buildDate=$build_date"
done
step "build kube-apiserver and kube-controller-manager (CGO_ENABLED=0; slowest step)" \
  bash -c 'cd "$1" && shift && go build -trimpath -ldflags "$1" -o "$2/" "${@:3}"' _ "$WORK/k8s" \
    "$LDFLAGS" "$STAGE" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager

# ---- etcd (separate module so its dependency versions are not mixed with kubernetes') -------------
build_etcd_resolve() (
  cd "$WORK/etcd" &&
    go mod init beskar7.local/etcd &&
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
)
step "resolve go.etcd.io/etcd/server/v3@$ETCD_VERSION" build_etcd_resolve
step "build etcd (CGO_ENABLED=0)" \
  bash -c 'cd "$1" && go build -trimpath -ldflags "-s -w" -o "$2/etcd" go.etcd.io/etcd/server/v3' _ "$WORK/etcd" "$STAGE"

# ---- verify and install ----------------------------------------------------------------------------
for b in "${BINARIES[@]}"; do
  "$STAGE/$b" --version >"$LOG" 2>&1 || { cat "$LOG" >&2; die "built $b does not run ('$b --version' failed)"; }
  log "$b: $(head -n1 "$LOG")"
done
mkdir -p "$BIN_DIR"
for b in "${BINARIES[@]}"; do mv -f "$STAGE/$b" "$BIN_DIR/$b"; done
binaries_ok || die "installed binaries in $BIN_DIR fail the version check"

elapsed=$((SECONDS - START))
log "total build time: ${elapsed}s ($((elapsed / 60))m$((elapsed % 60))s)"
log "cache size: $(du -sh "$K8S_ROOT" 2>/dev/null | cut -f1) in $K8S_ROOT (bin: $(du -sh "$BIN_DIR" | cut -f1))"
print_paths
