#!/usr/bin/env bash
# Smoke test for the control plane built by build-control-plane.sh:
#   etcd + kube-apiserver (+ kube-controller-manager) on 127.0.0.1 random ports, throwaway openssl PKI,
#   wait for /readyz, create a CRD (with a CEL rule and a status subresource) and a custom resource,
#   check CEL rejection, the status subresource and owner-reference garbage collection, then stop.
#
#   shim-operator/test-env/smoke-control-plane.sh
#
# Binaries: $BESKAR7_K8S_BIN if set, else the dir printed by `build-control-plane.sh --print-dir`.
# Only the processes this script starts are stopped (by PID); its temp dir is removed on any exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN_DIR="${BESKAR7_K8S_BIN:-$("$HERE/build-control-plane.sh" --print-dir)}"

log() { printf '[smoke] %s\n' "$*" >&2; }
fail() { printf '[smoke] FAILED: %s\n' "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }

for b in etcd kube-apiserver kube-controller-manager; do
  [[ -x "$BIN_DIR/$b" ]] || fail "missing $BIN_DIR/$b - run $HERE/build-control-plane.sh first"
done
for t in openssl curl; do command -v "$t" >/dev/null || fail "'$t' is not installed"; done

TMP="$(mktemp -d "${TMPDIR:-/tmp}/beskar7-smoke.XXXXXX")"
PIDS=()      # only processes started here
OK=0

stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then log "pid $pid ignored SIGTERM for 15 s; sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? pid i t0
  trap - EXIT INT TERM
  t0=$(now_ms)
  # Stop in reverse start order (controller-manager, apiserver, etcd), each by its own PID.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
  ((${#PIDS[@]} == 0)) || log "stopped pids ${PIDS[*]} in $(( $(now_ms) - t0 )) ms"
  if [[ $OK != 1 ]]; then
    for f in "$TMP"/*.log; do
      [[ -f "$f" ]] || continue
      echo "----- last 25 lines of $(basename "$f") -----" >&2
      tail -n 25 "$f" >&2
    done
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


free_port() {
  python3 - <<'EOF' 2>/dev/null && return 0
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
EOF
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
}

ETCD_CLIENT_PORT=$(free_port)
ETCD_PEER_PORT=$(free_port)
API_PORT=$(free_port)
while [[ $ETCD_PEER_PORT == "$ETCD_CLIENT_PORT" ]]; do ETCD_PEER_PORT=$(free_port); done
while [[ $API_PORT == "$ETCD_CLIENT_PORT" || $API_PORT == "$ETCD_PEER_PORT" ]]; do API_PORT=$(free_port); done
API="https://127.0.0.1:$API_PORT"
log "binaries: $BIN_DIR"
log "$("$BIN_DIR/kube-apiserver" --version), etcd $("$BIN_DIR/etcd" --version | sed -n 's/^etcd Version: //p')"
log "ports: etcd client $ETCD_CLIENT_PORT, etcd peer $ETCD_PEER_PORT, apiserver $API_PORT (all 127.0.0.1)"

# ---- throwaway PKI -----------------------------------------------------------------------------
PKI="$TMP/pki"; mkdir -p "$PKI"
t0=$(now_ms)
{
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=beskar7-smoke-ca" \
    -keyout "$PKI/ca.key" -out "$PKI/ca.crt"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
    -keyout "$PKI/serving.key" -out "$PKI/serving.csr"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' >"$PKI/serving.ext"
  openssl x509 -req -in "$PKI/serving.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 1 -extfile "$PKI/serving.ext" -out "$PKI/serving.crt"
  openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=beskar7-smoke-admin" \
    -keyout "$PKI/admin.key" -out "$PKI/admin.csr"
  printf 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n' >"$PKI/admin.ext"
  openssl x509 -req -in "$PKI/admin.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 1 -extfile "$PKI/admin.ext" -out "$PKI/admin.crt"
  openssl genrsa -out "$PKI/sa.key" 2048
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
} >"$TMP/openssl.out" 2>&1 || fail "openssl could not create the throwaway PKI: $(tail -n 5 "$TMP/openssl.out")"
log "PKI created in $(( $(now_ms) - t0 )) ms"

cat >"$TMP/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: smoke
  cluster: {server: "$API", certificate-authority: "$PKI/ca.crt"}
users:
- name: admin
  user: {client-certificate: "$PKI/admin.crt", client-key: "$PKI/admin.key"}
contexts:
- name: smoke
  context: {cluster: smoke, user: admin}
current-context: smoke
EOF

# curl as the admin user: kcurl METHOD PATH [BODY] [CONTENT-TYPE]; sets BODY and HTTP_CODE
# (no command substitution around it, so the globals survive).
BODY="" HTTP_CODE=""
kcurl() {
  local method=$1 path=$2 data=${3:-} ctype=${4:-application/json}
  local args=(-sS --max-time 20 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key"
              -X "$method" -o "$TMP/body" -w '%{http_code}')
  [[ -n "$data" ]] && args+=(-H "Content-Type: $ctype" --data-binary "$data")
  : >"$TMP/body"
  HTTP_CODE=$(curl "${args[@]}" "$API$path" 2>>"$TMP/curl.log") || HTTP_CODE=000
  BODY=$(tr -d ' \n' <"$TMP/body")   # compact JSON, for the substring checks below
}
expect() { # expect CODE WHAT
  [[ $HTTP_CODE == "$1" ]] || fail "$2: expected HTTP $1, got $HTTP_CODE: ${BODY:0:400}"
  log "ok: $2 (HTTP $HTTP_CODE)"
}
rss_mib() { awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }
alive() { kill -0 "$1" 2>/dev/null || fail "$2 exited early (see its log)"; }

# ---- etcd --------------------------------------------------------------------------------------
t0=$(now_ms)
"$BIN_DIR/etcd" --name smoke --data-dir "$TMP/etcd-data" \
  --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "smoke=http://127.0.0.1:$ETCD_PEER_PORT" \
  --unsafe-no-fsync --log-level warn >"$TMP/etcd.log" 2>&1 &
ETCD_PID=$!; PIDS+=("$ETCD_PID")
until curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" 2>/dev/null | grep -q '"health":"true"'; do
  alive "$ETCD_PID" etcd
  (( $(now_ms) - t0 < 30000 )) || fail "etcd not healthy after 30 s"
  sleep 0.1
done
log "etcd (pid $ETCD_PID) healthy in $(( $(now_ms) - t0 )) ms"

# ---- kube-apiserver ----------------------------------------------------------------------------
t0=$(now_ms)
"$BIN_DIR/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
  --cert-dir "$TMP/apiserver-certs" \
  --tls-cert-file "$PKI/serving.crt" --tls-private-key-file "$PKI/serving.key" \
  --client-ca-file "$PKI/ca.crt" \
  --authorization-mode RBAC \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --service-account-issuer "$API" \
  --service-cluster-ip-range 10.96.0.0/24 \
  --disable-admission-plugins ServiceAccount \
  --allow-privileged=true >"$TMP/kube-apiserver.log" 2>&1 &
API_PID=$!; PIDS+=("$API_PID")
until [[ "$(curl -sS --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
            "$API/readyz" 2>/dev/null)" == ok ]]; do
  alive "$API_PID" kube-apiserver
  (( $(now_ms) - t0 < 120000 )) || fail "kube-apiserver /readyz not ok after 120 s"
  sleep 0.1
done
READY_MS=$(( $(now_ms) - t0 ))
log "kube-apiserver (pid $API_PID) /readyz ok in $READY_MS ms"
kcurl GET /version; expect 200 "GET /version"
log "server version: $(printf '%s' "$BODY" | sed -n 's/.*"gitVersion":"\([^"]*\)".*/\1/p')"

# ---- CRD + custom resource ---------------------------------------------------------------------
CRD='{
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "widgets.smoke.beskar7.io"},
  "spec": {
    "group": "smoke.beskar7.io", "scope": "Namespaced",
    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
    "versions": [{
      "name": "v1", "served": true, "storage": true,
      "subresources": {"status": {}},
      "schema": {"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object",
                 "x-kubernetes-validations": [{"rule": "self.size >= 0", "message": "size must be >= 0"}],
                 "properties": {"size": {"type": "integer"}}},
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}}}}}
    }]
  }
}'
kcurl POST /apis/apiextensions.k8s.io/v1/customresourcedefinitions "$CRD"; expect 201 "create CRD widgets.smoke.beskar7.io"
t1=$(now_ms)
W=/apis/smoke.beskar7.io/v1/namespaces/default/widgets
until kcurl GET "$W" && [[ $HTTP_CODE == 200 ]]; do
  (( $(now_ms) - t1 < 30000 )) || fail "CRD not served after 30 s: HTTP $HTTP_CODE ${BODY:0:300}"
  sleep 0.2
done
log "ok: CRD served after $(( $(now_ms) - t1 )) ms"

kcurl POST "$W" '{"apiVersion":"smoke.beskar7.io/v1","kind":"Widget","metadata":{"name":"w1"},"spec":{"size":3}}'
expect 201 "create Widget w1"
kcurl GET "$W/w1"; expect 200 "get Widget w1"
[[ $BODY == *'"spec":{"size":3}'* ]] || fail "Widget w1 spec not round-tripped: $BODY"
kcurl PATCH "$W/w1/status" '{"status":{"phase":"Ready"}}' application/merge-patch+json
expect 200 "patch Widget w1 status subresource"
[[ $BODY == *'"phase":"Ready"'* ]] || fail "status not set: $BODY"
kcurl POST "$W" '{"apiVersion":"smoke.beskar7.io/v1","kind":"Widget","metadata":{"name":"bad"},"spec":{"size":-1}}'
expect 422 "CEL rule rejects Widget with size -1"

if command -v kubectl >/dev/null && out=$(kubectl --kubeconfig "$TMP/kubeconfig" get widgets.smoke.beskar7.io w1 -o name 2>&1); then
  [[ $out == "widget.smoke.beskar7.io/w1" ]] || fail "kubectl get widget returned: $out"
  log "ok: kubectl get widget -> $out"
else
  log "kubectl not usable here; skipped the kubectl check (curl checks passed)"
fi

# ---- kube-controller-manager: owner-reference garbage collection --------------------------------
t0=$(now_ms)
"$BIN_DIR/kube-controller-manager" --kubeconfig "$TMP/kubeconfig" \
  --controllers garbagecollector,namespace --leader-elect=false \
  --bind-address 127.0.0.1 --secure-port 0 >"$TMP/kube-controller-manager.log" 2>&1 &
KCM_PID=$!; PIDS+=("$KCM_PID")
kcurl POST /api/v1/namespaces/default/configmaps '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"owner"}}'
expect 201 "create ConfigMap owner"
OWNER_UID=$(printf '%s' "$BODY" | grep -o '"uid":"[^"]*"' | head -n1 | cut -d'"' -f4)
[[ -n $OWNER_UID ]] || fail "no uid in ConfigMap response: $BODY"
kcurl POST "$W" "{\"apiVersion\":\"smoke.beskar7.io/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"owned\",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"owner\",\"uid\":\"$OWNER_UID\"}]},\"spec\":{\"size\":1}}"
expect 201 "create Widget owned (ownerReference -> ConfigMap owner)"
kcurl DELETE /api/v1/namespaces/default/configmaps/owner; expect 200 "delete ConfigMap owner"
t1=$(now_ms)
until kcurl GET "$W/owned" && [[ $HTTP_CODE == 404 ]]; do
  alive "$KCM_PID" kube-controller-manager
  (( $(now_ms) - t1 < 90000 )) || fail "garbage collector did not delete Widget owned within 90 s (HTTP $HTTP_CODE)"
  sleep 0.5
done
log "ok: garbage collector deleted Widget owned $(( $(now_ms) - t1 )) ms after its owner (kube-controller-manager started $(( $(now_ms) - t0 )) ms ago)"

log "RSS: kube-apiserver $(rss_mib "$API_PID") MiB, etcd $(rss_mib "$ETCD_PID") MiB, kube-controller-manager $(rss_mib "$KCM_PID") MiB"
log "SUMMARY apiserver_ready_ms=$READY_MS"
OK=1
log "PASS - stopping pids ${PIDS[*]} and removing $TMP"
