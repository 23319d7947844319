#!/bin/sh
# The inspection ramdisk's run (docs/ramdisk-contract.md): report the hardware, ask the daemon
# what to do next until it says something other than "wait", do it (kexec, write a disk image,
# wipe, power off), and tell the daemon how it went.
#
#   sh flow.sh              the run
#   sh flow.sh post-logs    post the part of the log not posted yet (init uses it after a failure)
#
# POSIX sh (busybox ash) with busybox tools. Configuration comes from ${B7_ROOT}/proc/cmdline:
#   beskar7.api=<base URL> beskar7.host=<namespace>/<name> beskar7.token=<token>
#   beskar7.mode=inspect|provision|wipe BOOTIF=01-<mac>
# Everything with a side effect goes through a variable, so tests can put fakes in:
#   B7_KEXEC (kexec)  B7_POWEROFF (poweroff -f)  B7_REBOOT (reboot -f)  B7_WIPEFS (wipefs)
#   B7_BLKDISCARD (blkdiscard)  B7_DEV_ROOT (default B7_ROOT): disk /dev/X is written at
#   ${B7_DEV_ROOT}/dev/X. Also: B7_WORK (scratch, /tmp/beskar7), B7_LOG (the log posted to the
#   daemon), B7_HTTP (curl|wget; default curl when present), B7_AGENT_DIR (where report.sh is),
#   B7_BOOT_IFACE (the NIC init configured), B7_SLEEP (sleep: the waits between questions),
#   B7_KEEPALIVE_SECONDS (60), B7_GIVE_UP_SECONDS (1800).
# Exit status: 0 after a final action (power off, reboot, kexec; none of which return on a real
# machine), 1 after a failure that was reported, 2 when the command line lacks what it needs.
set -u
export LC_ALL=C
R="${B7_ROOT:-}"
AGENT_DIR="${B7_AGENT_DIR:-$(cd "$(dirname "$0")" && pwd)}"
W="${B7_WORK:-/tmp/beskar7}"
LOG="${B7_LOG:-$W/log}"
KEXEC="${B7_KEXEC:-kexec}"
POWEROFF="${B7_POWEROFF:-poweroff -f}"
REBOOT="${B7_REBOOT:-reboot -f}"
WIPEFS="${B7_WIPEFS:-wipefs}"
# util-linux's blkdiscard when present: busybox sh would run its own applet for a bare name.
BLKDISCARD="${B7_BLKDISCARD:-blkdiscard}"
[ -z "${B7_BLKDISCARD:-}" ] && [ -x /sbin/blkdiscard ] && BLKDISCARD=/sbin/blkdiscard
DEV_ROOT="${B7_DEV_ROOT:-$R}"
SLEEP="${B7_SLEEP:-sleep}"
KEEPALIVE_SECONDS="${B7_KEEPALIVE_SECONDS:-60}"
GIVE_UP_SECONDS="${B7_GIVE_UP_SECONDS:-1800}"
MAX_WAIT=60
MIB=1048576
KEEPALIVE_PID=""
TAG=main

mkdir -p "$W" "$(dirname "$LOG")"
: >> "$LOG"

log() {
  printf '%s %s\n' "$(date -u +%H:%M:%S 2>/dev/null)" "$*" >> "$LOG"
  printf 'beskar7: %s\n' "$*" >&2
}

json_string() { printf '%s' "$1" | sh "$AGENT_DIR/report.sh" --json-string; }

# JSON on stdin -> lines "path=value": object members by key, array items by index (disks.0.device),
# arrays also as "path#=length"; strings unescaped (\n \r \t \b \f as spaces), other values as
# written. Prints "!error" on input that is not JSON.
JSON_FLAT_AWK='
function ws() { while (pos <= len && index(" \t\r\n", substr(text, pos, 1)) > 0) pos++ }
function hexval(h,    i, v) {
  v = 0; h = tolower(h)
  for (i = 1; i <= 4; i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
  return v
}
function utf8(cp) {
  if (cp < 32) return " "
  if (cp < 128) return sprintf("%c", cp)
  if (cp < 2048) return sprintf("%c%c", 192 + int(cp / 64), 128 + cp % 64)
  if (cp >= 55296 && cp < 57344) return "?"
  return sprintf("%c%c%c", 224 + int(cp / 4096), 128 + int(cp / 64) % 64, 128 + cp % 64)
}
function str(    out, c) {
  pos++; out = ""
  while (pos <= len) {
    if (match(substr(text, pos), /^[^"\\]+/)) { out = out substr(text, pos, RLENGTH); pos += RLENGTH; continue }
    c = substr(text, pos, 1)
    if (c == "\"") { pos++; return out }
    pos++; c = substr(text, pos, 1)
    if (c == "u") { out = out utf8(hexval(substr(text, pos + 1, 4))); pos += 5; continue }
    if (c == "n" || c == "r" || c == "t" || c == "b" || c == "f") out = out " "
    else out = out c
    pos++
  }
  err = 1; return out
}
function key(k) { gsub(/[=.#\n]/, "_", k); return k }
function value(path,    c, k, i) {
  if (err) return
  ws(); c = substr(text, pos, 1)
  if (c == "{") {
    pos++; ws()
    if (substr(text, pos, 1) == "}") { pos++; return }
    while (!err) {
      ws(); if (substr(text, pos, 1) != "\"") { err = 1; return }
      k = key(str()); ws()
      if (substr(text, pos, 1) != ":") { err = 1; return }
      pos++; value(path == "" ? k : path "." k); ws()
      c = substr(text, pos, 1); pos++
      if (c == "}") return
      if (c != ",") { err = 1; return }
    }
    return
  }
  if (c == "[") {
    pos++; ws(); i = 0
    if (substr(text, pos, 1) == "]") { pos++; print path "#=0"; return }
    while (!err) {
      value(path "." i); i++; ws()
      c = substr(text, pos, 1); pos++
      if (c == "]") { print path "#=" i; return }
      if (c != ",") { err = 1; return }
    }
    return
  }
  if (c == "\"") { k = str(); if (!err) print path "=" k; return }
  if (match(substr(text, pos), /^[-+0-9.eEa-z]+/)) { print path "=" substr(text, pos, RLENGTH); pos += RLENGTH; return }
  err = 1
}
{ text = text $0 "\n" }
END { len = length(text); pos = 1; err = 0; value(""); ws(); if (err || pos <= len) print "!error" }
'
json_flat() { awk "$JSON_FLAT_AWK"; }

# flat_get FILE KEY -> the value (first match), false when absent.
flat_get() {
  awk -v k="$2=" 'index($0, k) == 1 { print substr($0, length(k) + 1); found = 1; exit } END { exit !found }' "$1"
}

is_uint() { case "$1" in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac; }

# ---------------------------------------------------------------------------------------------
# Configuration from the kernel command line.

API="" HOSTREF="" TOKEN="" MODE="" BOOTIF=""
set -f
for word in $(cat "$R/proc/cmdline" 2>/dev/null); do
  case "$word" in
    beskar7.api=*) API="${word#*=}" ;;
    beskar7.host=*) HOSTREF="${word#*=}" ;;
    beskar7.token=*) TOKEN="${word#*=}" ;;
    beskar7.mode=*) MODE="${word#*=}" ;;
    BOOTIF=*) BOOTIF="${word#*=}" ;;
  esac
done
set +f
API="${API%/}"
NS="${HOSTREF%%/*}"
NAME="${HOSTREF#*/}"
if [ -z "$API" ] || [ -z "$TOKEN" ] || [ -z "$NS" ] || [ -z "$NAME" ] || [ "$NS" = "$HOSTREF" ]; then
  log "the kernel command line lacks beskar7.api, beskar7.host=<namespace>/<name> or beskar7.token; nothing to do"
  exit 2
fi
case "$API" in http://* | https://*) ;; *) log "beskar7.api is not an http(s) URL: $API"; exit 2 ;; esac
case "$NS$NAME" in *[!a-z0-9.-]*) log "beskar7.host is not <namespace>/<name>: $HOSTREF"; exit 2 ;; esac
RAMDISK="$API/api/v1/ramdisk/$NS/$NAME"
ORIGIN="$(printf '%s' "$API" | sed 's|^\(https*://[^/]*\).*|\1|')"

HTTP_CLIENT="${B7_HTTP:-}"
if [ -z "$HTTP_CLIENT" ]; then
  if command -v curl >/dev/null 2>&1; then HTTP_CLIENT=curl; else HTTP_CLIENT=wget; fi
fi

# ---------------------------------------------------------------------------------------------
# HTTP. The boot token goes only to the daemon (URLs under beskar7.api's origin), never to an
# image server elsewhere.

with_token() { case "$1" in "$ORIGIN" | "$ORIGIN"/*) return 0 ;; *) return 1 ;; esac; }

# http METHOD URL OUTFILE [BODYFILE CONTENT-TYPE] -> true on 2xx; HTTP_STATUS (000: no answer).
# Calls to the API end after API_TIMEOUT seconds (busybox wget has no timeout of its own);
# downloads run as long as data flows.
API_TIMEOUT=120
http() {
  h_method="$1" h_url="$2" h_out="$3" h_body="${4:-}" h_type="${5:-}"
  h_err="$W/http.$TAG.err"
  h_limit=""
  case "$h_url" in "$API"/api/*) h_limit="timeout $API_TIMEOUT" ;; esac
  HTTP_STATUS=000
  if [ "$HTTP_CLIENT" = curl ]; then
    set -- -sS -L -o "$h_out" -w '%{http_code}' --connect-timeout 15 -y 60 -Y 1
    with_token "$h_url" && set -- "$@" -H "Authorization: Bearer $TOKEN"
    [ "$h_method" = POST ] && set -- "$@" -H "Content-Type: $h_type" --data-binary "@$h_body"
    [ "$h_method" = HEAD ] && set -- "$@" -I
    HTTP_STATUS="$($h_limit curl "$@" "$h_url" 2> "$h_err")"
  else
    set -- -q -S -O "$h_out" # -S: the status line and headers, on stderr
    with_token "$h_url" && set -- "$@" --header "Authorization: Bearer $TOKEN"
    [ "$h_method" = POST ] && set -- "$@" --header "Content-Type: $h_type" --post-file "$h_body"
    [ "$h_method" = HEAD ] && set -- --spider "$@"
    $h_limit wget "$@" "$h_url" 2> "$h_err"
    HTTP_STATUS="$(sed -n 's|.*HTTP/[0-9.]* \([0-9][0-9][0-9]\).*|\1|p' "$h_err" | tail -n 1)"
  fi
  case "$HTTP_STATUS" in [0-9][0-9][0-9]) ;; *) HTTP_STATUS=000 ;; esac
  case "$HTTP_STATUS" in 2??) return 0 ;; esac
  return 1
}

# The response headers of the last HEAD (wget -S and curl -I print them).
content_length() {
  if http HEAD "$1" "$W/head.$TAG.out"; then
    cat "$W/head.$TAG.out" "$W/http.$TAG.err" 2>/dev/null | tr -d '\r' |
      awk 'tolower($1) == "content-length:" && $2 ~ /^[0-9]+$/ { n = $2 } END { print n + 0 }'
  else
    echo 0
  fi
}

# The body of URL on stdout (for streaming an image).
stream() {
  if [ "$HTTP_CLIENT" = curl ]; then
    if with_token "$1"; then
      curl -sS -L --fail --connect-timeout 15 -y 120 -Y 1 -H "Authorization: Bearer $TOKEN" "$1"
    else
      curl -sS -L --fail --connect-timeout 15 -y 120 -Y 1 "$1"
    fi
  elif with_token "$1"; then
    wget -q -O- --header "Authorization: Bearer $TOKEN" "$1"
  else
    wget -q -O- "$1"
  fi
}

post_json() { # path-under-RAMDISK body-json
  printf '%s' "$2" > "$W/post.$TAG.json"
  http POST "$RAMDISK/$1" "$W/post.$TAG.out" "$W/post.$TAG.json" application/json
}

# progress PHASE MESSAGE [REASON] [DISKS-JSON]
progress() {
  p_body="{\"phase\":\"$1\",\"message\":$(json_string "$(printf '%s' "$2" | head -c 4000)")"
  [ -n "${3:-}" ] && p_body="$p_body,\"reason\":\"$3\""
  [ -n "${4:-}" ] && p_body="$p_body,\"disks\":$4"
  log "$1${3:+ [$3]}: $2"
  if ! post_json progress "$p_body}"; then
    # 401: the daemon ended this boot (host released, machine deleted): stop touching the disks.
    [ "$HTTP_STATUS" = 401 ] && [ "$1" != failed ] && power_off "the daemon ended this boot (401 on progress)"
    log "posting progress failed (HTTP $HTTP_STATUS)"
  fi
}

# Posts the log from where the last post ended, in chunks of at most 256 KiB.
post_logs() {
  [ -f "$LOG" ] || return 0
  l_size=$(($(wc -c < "$LOG")))
  l_done="$(cat "$LOG.posted" 2>/dev/null)"
  is_uint "$l_done" && [ "$l_done" -le "$l_size" ] || l_done=0
  while [ "$l_done" -lt "$l_size" ]; do
    tail -c +$((l_done + 1)) "$LOG" | head -c $((l_size - l_done)) | head -c 262144 > "$W/log.chunk"
    l_n=$(($(wc -c < "$W/log.chunk")))
    [ "$l_n" -gt 0 ] || break
    http POST "$RAMDISK/logs" "$W/logs.out" "$W/log.chunk" "text/plain; charset=utf-8" || return 1
    l_done=$((l_done + l_n))
    echo "$l_done" > "$LOG.posted"
  done
  return 0
}

# While a long step runs (download, write, wipe), call the daemon now and then: each call with a
# live token keeps the boot alive.
keepalive_start() {
  keepalive_stop
  (
    TAG=keepalive
    k_sleep=""
    trap '[ -n "$k_sleep" ] && kill "$k_sleep" 2>/dev/null; exit 0' TERM
    while :; do
      sleep "$KEEPALIVE_SECONDS" &
      k_sleep=$!
      wait "$k_sleep"
      k_sleep=""
      progress info "$1 (still running)"
    done
  ) < /dev/null > /dev/null 2>&1 &
  KEEPALIVE_PID=$!
}
keepalive_stop() {
  [ -n "$KEEPALIVE_PID" ] || return 0
  kill "$KEEPALIVE_PID" 2>/dev/null
  wait "$KEEPALIVE_PID" 2>/dev/null
  KEEPALIVE_PID=""
}

# fail REASON MESSAGE: report, post the log, stop (init powers the host off).
fail() {
  keepalive_stop
  progress failed "$2" "$1"
  post_logs
  exit 1
}

power_off() {
  log "powering off: $1"
  post_logs
  $POWEROFF
  exit 0
}

# ---------------------------------------------------------------------------------------------
# Artefacts.

# fetch_verified LABEL URL SHA256 OUTFILE: download, then check before anything uses it.
fetch_verified() {
  f_expected="$(printf '%s' "$3" | tr 'A-F' 'a-f')"
  progress downloading "$1 from $2"
  keepalive_start "downloading $1"
  if ! http GET "$2" "$4"; then
    fail DownloadFailed "$1: $2 answered HTTP $HTTP_STATUS ($(tail -n 1 "$W/http.$TAG.err" 2>/dev/null))"
  fi
  keepalive_stop
  progress verifying "$1: sha256 of $(($(wc -c < "$4"))) bytes"
  f_actual="$(sha256sum "$4" | cut -d' ' -f1)"
  if [ "$f_actual" != "$f_expected" ]; then
    rm -f "$4"
    fail ChecksumMismatch "$1 from $2: sha256 is $f_actual, expected $f_expected; not used"
  fi
}

post_booted() {
  # Retried while the daemon is away (a restart): a lost "booted" would end the run in a timeout
  # although the target booted. A 4xx answer is final.
  booted_body="{\"source\":\"ramdisk\",\"addresses\":[$(booted_addresses)]}"
  booted_tries=0
  until post_json booted "$booted_body"; do
    case "$HTTP_STATUS" in 4??) log "posting booted refused (HTTP $HTTP_STATUS)"; return 0 ;; esac
    booted_tries=$((booted_tries + 1))
    if [ "$booted_tries" -ge 60 ]; then log "posting booted failed $booted_tries times (HTTP $HTTP_STATUS); going on"; return 0; fi
    $SLEEP 5
  done
}

booted_addresses() {
  if [ -n "${B7_BOOT_IFACE:-}" ]; then
    ip -o -4 addr show dev "$B7_BOOT_IFACE" 2>/dev/null
  else
    ip -o -4 addr show scope global 2>/dev/null
  fi | awk '{ for (i = 1; i < NF; i++) if ($i == "inet") { a = $(i + 1); sub(/\/.*/, "", a); if (n < 32 && a ~ /^[0-9.]+$/) { printf "%s{\"type\":\"InternalIP\",\"address\":\"%s\"}", (n++ ? "," : ""), a } } }'
}

do_kexec() {
  k_cmdline="$(flat_get "$W/next.flat" cmdline)"
  k_kernel="" k_initrd=""
  if k_url="$(flat_get "$W/next.flat" tarball.url)"; then
    fetch_verified tarball "$k_url" "$(flat_get "$W/next.flat" tarball.sha256)" "$W/boot.tar.gz"
    rm -rf "$W/tarball" && mkdir -p "$W/tarball"
    tar -xzf "$W/boot.tar.gz" -C "$W/tarball" 2> "$W/tar.err" || fail DownloadFailed "tarball does not unpack: $(head -c 300 "$W/tar.err")"
    k_extra=""
    for k_file in $(find "$W/tarball" -type f | sort); do
      case "${k_file##*/}" in
        vmlinuz* | bzImage | Image | kernel) [ -n "$k_kernel" ] || k_kernel="$k_file" ;;
        initrd* | initramfs*) [ -n "$k_initrd" ] || k_initrd="$k_file" ;;
        cmdline) [ -n "$k_extra" ] || k_extra="$(tr '\n' ' ' < "$k_file")" ;;
      esac
    done
    [ -n "$k_kernel" ] || fail KexecFailed "the tarball holds no kernel (vmlinuz*, bzImage, Image or kernel)"
    k_cmdline="$(printf '%s %s' "$k_extra" "$k_cmdline" | sed 's/^ *//; s/ *$//; s/  */ /g')"
  elif k_url="$(flat_get "$W/next.flat" kernel.url)"; then
    k_kernel="$W/kernel"
    fetch_verified kernel "$k_url" "$(flat_get "$W/next.flat" kernel.sha256)" "$k_kernel"
    if k_url="$(flat_get "$W/next.flat" initrd.url)"; then
      k_initrd="$W/initrd"
      fetch_verified initrd "$k_url" "$(flat_get "$W/next.flat" initrd.sha256)" "$k_initrd"
    fi
  else
    fail KexecFailed "kexec action without kernel or tarball"
  fi

  progress kexec "loading ${k_kernel##*/}${k_initrd:+ with ${k_initrd##*/}}"
  set -- "$k_kernel"
  [ -n "$k_initrd" ] && set -- "$@" "--initrd=$k_initrd"
  set -- "$@" "--command-line=$k_cmdline"
  # -i: no purgatory checksum of the loaded segments at kexec -e. Both files were checked against
  # their sha256 just now; the second check cost ~1.6 s per boot under emulation (lab-notes.md).
  if ! $KEXEC -l -i "$@" > "$W/kexec.out" 2>&1; then
    log "kexec -l failed ($(tail -n 2 "$W/kexec.out" | tr '\n' ' ')); trying kexec_file_load (-s)"
    $KEXEC -s -l "$@" > "$W/kexec.out" 2>&1 || fail KexecFailed "kexec -l: $(tail -n 3 "$W/kexec.out" | tr '\n' ' ')"
  fi
  post_booted
  log "kexec into the new kernel"
  post_logs
  $KEXEC -e > "$W/kexec.out" 2>&1
  fail KexecFailed "kexec -e returned: $(tail -n 3 "$W/kexec.out" | tr '\n' ' ')"
}

# The reported disks as lines "device size-bytes size-gb type model serial" would lose spaces;
# the chooser reads the flattened report directly.
choose_disk() { # min-bytes -> device, or "!why"
  awk -v min_bytes="$1" '
    FILENAME == ARGV[1] {
      if ($0 !~ /^rootDeviceHints\./) next
      k = substr($0, 17); v = k; sub(/=.*/, "", k); sub(/^[^=]*=/, "", v)
      hint[k] = v; next
    }
    /^disks\.[0-9]+\./ {
      split($0, part, "."); i = part[2]; f = part[3]; sub(/=.*/, "", f)
      v = $0; sub(/^[^=]*=/, "", v); d[i, f] = v; if (i + 1 > n) n = i + 1
    }
    END {
      for (k in hint) if (k !~ /^(deviceName|model|serialNumber|minSizeGB|minSizeGigabytes|rotational)$/) { print "!unsupported rootDeviceHints key " k; exit }
      best = -1
      for (i = 0; i < n; i++) {
        ok = (d[i, "sizeBytes"] + 0 >= min_bytes + 0)
        if ("deviceName" in hint) { v = hint["deviceName"]; if (v !~ /^\/dev\//) v = "/dev/" v; if (d[i, "device"] != v) ok = 0 }
        if ("model" in hint && index(tolower(d[i, "model"]), tolower(hint["model"])) == 0) ok = 0
        if ("serialNumber" in hint && d[i, "serial"] != hint["serialNumber"]) ok = 0
        if ("minSizeGB" in hint && d[i, "sizeGB"] + 0 < hint["minSizeGB"] + 0) ok = 0
        if ("minSizeGigabytes" in hint && d[i, "sizeGB"] + 0 < hint["minSizeGigabytes"] + 0) ok = 0
        if ("rotational" in hint) {
          r = tolower(hint["rotational"]); want = (r == "true" || r == "1")
          if ((d[i, "type"] == "HDD") != want) ok = 0
        }
        if (ok && (best < 0 || d[i, "sizeBytes"] + 0 < d[best, "sizeBytes"] + 0)) best = i
      }
      if (best < 0) { print "!no reported disk matches"; exit }
      print d[best, "device"]
    }
  ' "$W/next.flat" "$W/report.flat"
}

do_disk() {
  d_url="$(flat_get "$W/next.flat" image.url)" || fail DownloadFailed "disk action without image.url"
  d_expected="$(flat_get "$W/next.flat" image.sha256 | tr 'A-F' 'a-f')"
  d_format="$(flat_get "$W/next.flat" image.format)" || d_format=raw
  case "$d_format" in
    raw) d_decompress=cat ;;
    gzip) d_decompress="gzip -dc" ;;
    zstd)
      command -v zstd > /dev/null 2>&1 || fail WriteFailed "the image is zstd and this ramdisk has no zstd"
      d_decompress="zstd -dc"
      ;;
    *) fail WriteFailed "unknown image format $d_format" ;;
  esac
  d_min=0
  [ "$d_format" = raw ] && d_min="$(content_length "$d_url")"
  d_device="$(choose_disk "$d_min")"
  case "$d_device" in
    /dev/*) ;;
    *) fail NoTargetDisk "${d_device#!} (hints: $(grep '^rootDeviceHints\.' "$W/next.flat" | sed 's/^rootDeviceHints\.//' | tr '\n' ' ')${d_min:+, image $d_min bytes})" ;;
  esac
  d_target="$DEV_ROOT$d_device"
  progress writing "$d_format image $d_url onto $d_device"
  keepalive_start "writing the image onto $d_device"
  rm -f "$W/hash.fifo" "$W"/rc.*
  mkfifo "$W/hash.fifo"
  sha256sum < "$W/hash.fifo" > "$W/image.sha256" &
  d_hash_pid=$!
  # Hash exactly the bytes downloaded (the compressed stream), while they are written.
  { stream "$d_url" 2> "$W/stream.err"; echo "$?" > "$W/rc.fetch"; } |
    { tee "$W/hash.fifo"; echo "$?" > "$W/rc.tee"; } |
    { $d_decompress 2> "$W/decompress.err"; echo "$?" > "$W/rc.decompress"; } |
    { dd of="$d_target" bs=1M conv=fsync 2> "$W/dd.err"; echo "$?" > "$W/rc.dd"; }
  wait "$d_hash_pid"
  keepalive_stop
  sync
  d_actual="$(cut -d' ' -f1 < "$W/image.sha256")"
  d_rc_fetch="$(cat "$W/rc.fetch")" d_rc_tee="$(cat "$W/rc.tee")"
  d_rc_dec="$(cat "$W/rc.decompress")" d_rc_dd="$(cat "$W/rc.dd")"
  log "stream: download $d_rc_fetch, tee $d_rc_tee, decompress $d_rc_dec, write $d_rc_dd; sha256 $d_actual"
  if [ "$d_rc_dd" != 0 ]; then
    fail WriteFailed "writing $d_device failed: $(tail -n 2 "$W/dd.err" | tr '\n' ' ')"
  fi
  if [ "$d_rc_dec" != 0 ] && { [ "$d_rc_fetch" != 0 ] || [ "$d_rc_tee" != 0 ] || [ "$d_actual" = "$d_expected" ]; }; then
    fail WriteFailed "the image does not decompress as $d_format: $(tail -n 2 "$W/decompress.err" | tr '\n' ' '); $d_device holds a partial image"
  fi
  if [ "$d_rc_fetch" != 0 ] || [ "$d_rc_tee" != 0 ]; then
    fail DownloadFailed "downloading $d_url failed: $(tail -n 2 "$W/stream.err" | tr '\n' ' '); $d_device holds a partial image"
  fi
  if [ "$d_actual" != "$d_expected" ]; then
    d_note="its signatures were erased (wipefs -a) so it does not boot"
    $WIPEFS -a "$d_target" > /dev/null 2>&1 || d_note="erasing its signatures failed too"
    fail ChecksumMismatch "image $d_url: sha256 is $d_actual, expected $d_expected; $d_device is dirty (it holds the unverified image; $d_note)"
  fi
  progress info "image written onto $d_device and verified (sha256 $d_actual); rebooting"
  # The installed OS has no token of its own here: the written and verified image is the milestone.
  post_booted
  post_logs
  $REBOOT
  exit 0
}

zero_range() { # target offset-bytes length-bytes (both multiples of 512)
  if [ $(($2 % MIB)) -eq 0 ] && [ $(($3 % MIB)) -eq 0 ]; then
    dd if=/dev/zero of="$1" bs=1M seek=$(($2 / MIB)) count=$(($3 / MIB)) conv=notrunc,fsync 2>> "$W/dd.err"
  else
    dd if=/dev/zero of="$1" bs=512 seek=$(($2 / 512)) count=$(($3 / 512)) conv=notrunc,fsync 2>> "$W/dd.err"
  fi
}

wipe_one() { # device size-bytes method
  w_target="$DEV_ROOT$1"
  case "$3" in
    metadata)
      w_name="${1#/dev/}"
      for w_part in "$R/sys/class/block/$w_name/$w_name"*; do
        [ -e "$w_part/partition" ] && $WIPEFS -a "$DEV_ROOT/dev/${w_part##*/}" >> "$W/wipe.out" 2>&1
      done
      $WIPEFS -a "$w_target" >> "$W/wipe.out" 2>&1
      ;;
    discard)
      if $BLKDISCARD -f "$w_target" >> "$W/wipe.out" 2>&1 || $BLKDISCARD "$w_target" >> "$W/wipe.out" 2>&1; then
        return 0
      fi
      log "$1: discard failed; zeroing the first and last 16 MiB"
      if [ "$2" -le $((32 * MIB)) ]; then
        zero_range "$w_target" 0 "$2"
      else
        zero_range "$w_target" 0 $((16 * MIB)) && zero_range "$w_target" $(($2 - 16 * MIB)) $((16 * MIB))
      fi
      ;;
    zero)
      zero_range "$w_target" 0 $(($2 / MIB * MIB)) &&
        { [ $(($2 % MIB)) -eq 0 ] || zero_range "$w_target" $(($2 / MIB * MIB)) $(($2 % MIB)); }
      ;;
    *) return 1 ;;
  esac
}

do_wipe() {
  w_method="$(flat_get "$W/next.flat" method)"
  w_count="$(flat_get "$W/next.flat" 'disks#')" || w_count=0
  w_list=""
  if [ "$w_count" -eq 0 ]; then
    w_list="$(awk '/^disks\.[0-9]+\.device=/ { sub(/^[^=]*=/, ""); print }' "$W/report.flat")"
  else
    i=0
    while [ "$i" -lt "$w_count" ]; do
      w_dev="$(flat_get "$W/next.flat" "disks.$i")"
      case "$w_dev" in /dev/*) ;; *) w_dev="/dev/$w_dev" ;; esac
      grep -qx "disks\.[0-9]*\.device=$w_dev" "$W/report.flat" || fail WipeFailed "$w_dev is not a disk of this host's report"
      w_list="$w_list$w_dev
"
      i=$((i + 1))
    done
  fi
  [ -n "$w_list" ] || fail WipeFailed "this host reported no disks"
  progress wiping "method $w_method: $(printf '%s' "$w_list" | tr '\n' ' ')"
  keepalive_start "wiping ($w_method)"
  w_done="" w_failed=""
  for w_dev in $w_list; do
    w_size="$(awk -v d="$w_dev" '
      /^disks\.[0-9]+\.device=/ { split($0, p, "."); v = $0; sub(/^[^=]*=/, "", v); if (v == d) want = p[2] }
      /^disks\.[0-9]+\.sizeBytes=/ { split($0, p, "."); v = $0; sub(/^[^=]*=/, "", v); size[p[2]] = v }
      END { print size[want] + 0 }' "$W/report.flat")"
    log "wiping $w_dev ($w_size bytes, $w_method)"
    if wipe_one "$w_dev" "$w_size" "$w_method"; then
      w_done="${w_done:+$w_done,}$(json_string "$w_dev")"
    else
      w_failed="$w_failed $w_dev"
    fi
  done
  keepalive_stop
  if [ -n "$w_failed" ]; then
    log "wipe output: $(tail -n 5 "$W/wipe.out" "$W/dd.err" 2>/dev/null | tr '\n' ' ')"
    fail WipeFailed "wiping failed on$w_failed"
  fi
  sync
  progress wiped "wiped with method $w_method" "" "[$w_done]"
  power_off "wipe done"
}

# ---------------------------------------------------------------------------------------------
# The run.

if [ "${1:-}" = "post-logs" ]; then
  post_logs
  exit
fi

log "beskar7 ramdisk: host $NS/$NAME, mode ${MODE:-unset}, daemon $API, BOOTIF ${BOOTIF:-none}, http via $HTTP_CLIENT"

# 1. Report (every mode reports first).
# A failure here is told to the daemon at once, so the run fails now instead of timing out.
sh "$AGENT_DIR/report.sh" > "$W/report.json" 2> "$W/report.err" || fail InspectionFailed "report.sh failed: $(head -c 1000 "$W/report.err")"
json_flat < "$W/report.json" > "$W/report.flat"
grep -q '^!error' "$W/report.flat" && fail InspectionFailed "report.sh printed no valid JSON"
log "report: $(awk '/^disks#=/ { sub(/.*=/, ""); d = $0 } /^nics#=/ { sub(/.*=/, ""); n = $0 } /^cpus.threads=/ { sub(/.*=/, ""); t = $0 } /^memory.totalGB=/ { sub(/.*=/, ""); m = $0 } END { printf "%s threads, %s GiB, %s disks, %s NICs", t, m, d, n }' "$W/report.flat")"

backoff=5
failed_for=0
retry_later() { # what-failed
  if [ "$failed_for" -ge "$GIVE_UP_SECONDS" ]; then
    log "$1; giving up after ${failed_for}s"
    exit 1
  fi
  log "$1; trying again in ${backoff}s"
  $SLEEP "$backoff"
  failed_for=$((failed_for + backoff))
  backoff=$((backoff * 2))
  [ "$backoff" -le "$MAX_WAIT" ] || backoff=$MAX_WAIT
}

until http POST "$API/api/v1/inspection/$NS/$NAME" "$W/report.out" "$W/report.json" application/json; do
  [ "$HTTP_STATUS" = 401 ] && power_off "the daemon refused the report (401): this boot is over"
  case "$HTTP_STATUS" in
    408 | 429) ;;
    4??) # the same report would be rejected again
      fail ReportRejected "the daemon rejected the report (HTTP $HTTP_STATUS): $(head -c 500 "$W/report.out" 2>/dev/null)"
      ;;
  esac
  retry_later "posting the report failed (HTTP $HTTP_STATUS $(tail -n 1 "$W/http.$TAG.err" 2>/dev/null))"
done
log "report accepted (HTTP $HTTP_STATUS)"
post_logs
failed_for=0 backoff=5

# 2. Ask until the answer is not "wait".
last_reason=""
while :; do
  if ! http GET "$RAMDISK/next" "$W/next.json"; then
    [ "$HTTP_STATUS" = 401 ] && power_off "the daemon ended this boot (401 on next)"
    retry_later "asking for the next action failed (HTTP $HTTP_STATUS)"
    continue
  fi
  failed_for=0 backoff=5
  json_flat < "$W/next.json" > "$W/next.flat"
  action="$(flat_get "$W/next.flat" action)" || action=""
  case "$action" in
    wait)
      n="$(flat_get "$W/next.flat" retryAfterSeconds)" || n=5
      is_uint "$n" || n=5
      [ "$n" -ge 1 ] || n=1
      [ "$n" -le "$MAX_WAIT" ] || n=$MAX_WAIT
      reason="$(flat_get "$W/next.flat" reason)" || reason=""
      if [ "$reason" != "$last_reason" ]; then
        log "waiting: $reason (asking again every ${n}s)"
        post_logs
        last_reason="$reason"
      fi
      $SLEEP "$n"
      ;;
    kexec) do_kexec ;;
    disk) do_disk ;;
    wipe) do_wipe ;;
    poweroff) power_off "the daemon says: $(flat_get "$W/next.flat" reason)" ;;
    *)
      log "unexpected answer to next: $(head -c 300 "$W/next.json")"
      retry_later "no usable action"
      ;;
  esac
done
