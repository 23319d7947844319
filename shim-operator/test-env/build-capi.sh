#!/usr/bin/env bash
# Build Cluster API's core manager and clusterctl from the Go module proxy, and extract the core
# provider's CRDs and manifests, caching everything outside the repository.
#
#   shim-operator/test-env/build-capi.sh              # build (or reuse) the binaries
#   shim-operator/test-env/build-capi.sh --print-dir  # print the version dir (bin/, crds/, config/) and exit
#
# Output: ${BESKAR7_CACHE:-$HOME/.cache/beskar7}/capi/<CAPI_VERSION>/
#   bin/manager      the core controllers (package sigs.k8s.io/cluster-api/core: Cluster, Machine, MachineSet, ...)
#   bin/clusterctl   sigs.k8s.io/cluster-api/cmd/clusterctl
#   crds/*.yaml      core/config/crd/bases of the module (plain CRDs: no conversion-webhook stanza)
#   config/          core/config of the module (rbac, manager, webhook, crd patches) + metadata.yaml
# It reuses build-control-plane.sh's Go module and build caches (k8s/gomodcache, k8s/gocache): CAPI
# v1.14 is built against the same k8s.io/* v0.36.3 modules, so most of its dependencies are warm.
#
# How the tests run it (test/integration/capi-env.ts, capi-core.test.ts):
#  - CAPI v1.14 stores v1beta2 and still serves v1beta1 through its conversion webhook; the shim reads
#    Machines/Clusters as v1beta1, so the webhook server must be reachable. The manager runs with
#    --webhook-port=<free port> --webhook-cert-dir=<dir> (tls.crt/tls.key from a throwaway openssl CA,
#    SAN 127.0.0.1), and the CRDs listed in core/config/crd/patches/webhook_in_*.yaml get
#    spec.conversion.webhook.clientConfig {url: https://127.0.0.1:<port>/convert, caBundle}; the
#    module's webhook/manifests.yaml (defaulting + validation) is installed the same way (url + caBundle
#    instead of a Service). controller-runtime's webhook server has no host flag: it listens on all
#    interfaces of the test machine, on a random port, for the test's duration.
#  - other flags: --leader-elect=false --diagnostics-address=0 (no metrics listener)
#    --health-addr=127.0.0.1:<port> (polled /readyz) --feature-gates=ClusterTopology=false,RuntimeSDK=false
#    and KUBECONFIG in the environment (ctrl.GetConfigOrDie).
#  - clusterctl init: local repository (cluster-api/<version>/core-components.yaml generated from
#    config/, infrastructure-beskar7/v0.1.0/ from shim-operator/), `--bootstrap - --control-plane -`,
#    cert-manager `externallyProvisioned: "true"` with schema-less Issuer/Certificate stand-in CRDs
#    (clusterctl only creates and deletes a test Issuer and Certificate to see the API answer).
set -euo pipefail

# ---- pins ------------------------------------------------------------------------------------------
# sigs.k8s.io/cluster-api v1.14.2: the newest release the proxy lists here; its go.mod requires
# k8s.io/* v0.36.3 (= our kube-apiserver v1.36.3), controller-runtime v0.24.1, go >= 1.26.0.
# Since v1.11 the core manager's main.go lives in core/ (package sigs.k8s.io/cluster-api/core), not at
# the module root, and the module's go.mod replaces sigs.k8s.io/cluster-api/api with ./api (a
# nested module, not in the zip), so our throwaway module replaces it with the published api module.
CAPI_VERSION="v1.14.2"

# ---- paths -----------------------------------------------------------------------------------------
CACHE_ROOT="${BESKAR7_CACHE:-$HOME/.cache/beskar7}"
GO_ROOT="$CACHE_ROOT/k8s"            # shared with build-control-plane.sh
CAPI_ROOT="$CACHE_ROOT/capi"
OUT="$CAPI_ROOT/$CAPI_VERSION"
BIN_DIR="$OUT/bin"
BINARIES=(manager clusterctl)

usage() {
  sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
  --print-dir) echo "$OUT"; exit 0 ;;
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "error: unknown argument: $1" >&2; usage >&2; exit 2 ;;
esac

log() { printf '[build-capi] %s\n' "$*" >&2; }
die() { printf '[build-capi] error: %s\n' "$*" >&2; exit 1; }

# True when both binaries run and report the pinned version, and the CRDs and config are extracted.
present() {
  local out
  [[ -x "$BIN_DIR/manager" && -x "$BIN_DIR/clusterctl" ]] || return 1
  [[ -f "$OUT/crds/cluster.x-k8s.io_machines.yaml" && -f "$OUT/config/metadata.yaml" && -f "$OUT/config/rbac/role.yaml" ]] || return 1
  out=$("$BIN_DIR/clusterctl" version -o short 2>&1) && [[ "$out" == *"$CAPI_VERSION"* ]] || return 1
  out=$("$BIN_DIR/manager" --help 2>&1) || true
  [[ "$out" == *"--webhook-port"* ]] || return 1
}

if present; then
  log "Cluster API $CAPI_VERSION present in $OUT"
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "the Go toolchain ('go') is not on PATH; it is needed to build Cluster API"

# shellcheck source=go-build-lib.sh
source "$(dirname "$0")/go-build-lib.sh"
PINNED="sigs.k8s.io/cluster-api@$CAPI_VERSION"
if ! take_build_lock "$CAPI_ROOT" present; then
  log "Cluster API $CAPI_VERSION present (built by a concurrent run)"
  echo "$OUT"
  exit 0
fi
go_environment "$GO_ROOT"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/beskar7-capi-build.XXXXXX")"
STAGE="$OUT.partial.$$"
cleanup() { rm -rf "$WORK" "$STAGE"; }
trap cleanup EXIT
LOG="$WORK/step.log"
START=$SECONDS

log "Go: $(go version)"
log "module/build caches: $GO_ROOT (shared with build-control-plane.sh)"

step "fetch sigs.k8s.io/cluster-api@$CAPI_VERSION from the module proxy" \
  go mod download -json "sigs.k8s.io/cluster-api@$CAPI_VERSION"
SRC="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' "$LOG")"
[[ -n "$SRC" && -f "$SRC/core/main.go" && -d "$SRC/core/config/crd/bases" ]] || { cat "$LOG" >&2; die "sigs.k8s.io/cluster-api@$CAPI_VERSION has no core/main.go or core/config/crd/bases (unexpected layout)"; }

resolve() (
  cd "$WORK" &&
    go mod init beskar7.local/capi &&
    go mod edit "-replace=sigs.k8s.io/cluster-api/api=sigs.k8s.io/cluster-api/api@$CAPI_VERSION" &&
    go get "sigs.k8s.io/cluster-api/core@$CAPI_VERSION" "sigs.k8s.io/cluster-api/cmd/clusterctl@$CAPI_VERSION"
)
step "resolve sigs.k8s.io/cluster-api@$CAPI_VERSION (+ its api module)" resolve

minor="${CAPI_VERSION#v1.}"; minor="${minor%%.*}"
LDFLAGS="-s -w"
LDFLAGS+=" -X sigs.k8s.io/cluster-api/version.gitVersion=$CAPI_VERSION -X sigs.k8s.io/cluster-api/version.gitMajor=1"
LDFLAGS+=" -X sigs.k8s.io/cluster-api/version.gitMinor=$minor -X sigs.k8s.io/cluster-api/version.gitTreeState=clean"
LDFLAGS+=" -X sigs.k8s.io/cluster-api/version.gitCommit=module-proxy"
mkdir -p "$STAGE/bin" "$STAGE/crds" "$STAGE/config"
step "build the core manager and clusterctl (CGO_ENABLED=0; slowest step)" \
  bash -c 'cd "$1" && go build -trimpath -ldflags "$2" -o "$3/manager" sigs.k8s.io/cluster-api/core &&
           go build -trimpath -ldflags "$2" -o "$3/clusterctl" sigs.k8s.io/cluster-api/cmd/clusterctl' _ \
    "$WORK" "$LDFLAGS" "$STAGE/bin"

# ---- CRDs and config from the module source (read-only in the module cache) ----------------------
cp "$SRC"/core/config/crd/bases/*.yaml "$STAGE/crds/"
cp -r "$SRC"/core/config/. "$STAGE/config/"
cp "$SRC/metadata.yaml" "$STAGE/config/metadata.yaml"
chmod -R u+w "$STAGE/crds" "$STAGE/config"

"$STAGE/bin/clusterctl" version -o short >"$LOG" 2>&1 || { cat "$LOG" >&2; die "built clusterctl does not run"; }
log "clusterctl: $(head -n1 "$LOG")"
"$STAGE/bin/manager" --help >"$LOG" 2>&1 || true
grep -q -- '--webhook-port' "$LOG" || { cat "$LOG" >&2; die "built manager does not run ('manager --help')"; }

rm -rf "$OUT.old"
[[ -d "$OUT" ]] && mv "$OUT" "$OUT.old"
mv "$STAGE" "$OUT"
rm -rf "$OUT.old"
present || die "installed Cluster API in $OUT fails the presence check"

elapsed=$((SECONDS - START))
log "total build time: ${elapsed}s ($((elapsed / 60))m$((elapsed % 60))s)"
log "size: $(du -sh "$OUT" | cut -f1) in $OUT; shared caches now $(du -sh "$GO_ROOT" 2>/dev/null | cut -f1)"
echo "$OUT"
