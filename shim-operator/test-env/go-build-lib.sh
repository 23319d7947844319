# Sourced by build-control-plane.sh and build-capi.sh: what building from the Go module proxy needs
# in both. The caller defines log and die, and sets LOG (a file in its work dir) and PINNED (the
# module@version it builds, named when the installed Go is too old).

# Caches under the cache root (shared by both builds), no cgo, never download another toolchain.
go_environment() { # CACHE_DIR
  export GOMODCACHE="$1/gomodcache" GOCACHE="$1/gocache" GOPATH="$1/gopath"
  export CGO_ENABLED=0 GOTOOLCHAIN=local GO111MODULE=on GOFLAGS="-buildvcs=false -mod=mod" GOWORK=off
}

# One build at a time per cache (two test jobs starting at once): returns 0 when this run should
# build, 1 when the build it waited for already left what it wanted (IS_PRESENT says).
take_build_lock() { # LOCK_DIR IS_PRESENT
  command -v flock >/dev/null 2>&1 || return 0
  mkdir -p "$1"
  exec 9>"$1/.build.lock"
  if ! flock -n 9; then
    log "another build holds $1/.build.lock; waiting for it"
    flock 9
  fi
  ! "$2"
}

# Runs a step with its output in $LOG; on failure shows the output's end and says why, in words.
step() { # NAME COMMAND...
  local name="$1"; shift
  local t0=$SECONDS
  log "$name ..."
  if ! "$@" >"$LOG" 2>&1; then
    echo "----- output of: $* (last 40 lines) -----" >&2
    tail -n 40 "$LOG" >&2
    echo "-----" >&2
    if grep -qE 'requires go >= |toolchain not available' "$LOG"; then
      die "step '$name' failed: the installed $(go version | cut -d' ' -f3) is older than what $PINNED requires (GOTOOLCHAIN=local forbids downloading another toolchain)"
    fi
    if grep -qiE 'dial tcp|lookup [^ ]*( on [^ ]*)?: (no such host|server misbehaving)|connection refused|i/o timeout|TLS handshake|network is unreachable|no route to host|proxyconnect|GOPROXY=off' "$LOG"; then
      die "step '$name' failed: the Go module proxy ($(go env GOPROXY)) is unreachable; this script needs it (or a warm module cache in $GOMODCACHE)"
    fi
    if grep -qiE '403 Forbidden|404 Not Found|410 Gone|not available|unknown revision|invalid version' "$LOG"; then
      die "step '$name' failed: the Go module proxy ($(go env GOPROXY)) does not have a module version this build needs (check the pins at the top of $0)"
    fi
    die "step '$name' failed; see the output above"
  fi
  log "$name done ($((SECONDS - t0))s)"
}
