#!/bin/sh
# Prints this machine's hardware report (docs/ramdisk-contract.md, "Hardware report") as JSON.
#
#   sh report.sh                 the report, one line of JSON
#   sh report.sh --json-string   stdin as one JSON string literal (flow.sh builds its bodies with it)
#
# POSIX sh (busybox ash, dash) and only tools busybox has. Every file is read under the prefix
# ${B7_ROOT:-} (/proc/cpuinfo, /proc/meminfo, /proc/cmdline, /sys/class/{block,net,dmi}), so tests
# point it at a fake tree. Environment: B7_ARCH (default `uname -m`), B7_BMC_ADDRESS (default null).
set -u
export LC_ALL=C
R="${B7_ROOT:-}"

# JSON string literal of stdin: `"` and `\` escaped, tab/CR/newline as \t \r \n, other control
# characters as \u00XX, bytes that are not valid UTF-8 as \ufffd (the report must be valid JSON
# whatever a firmware put into its DMI strings). Lines are joined with \n.
JSON_ESCAPE_AWK='
function esc(s,    o, i, len, c, k, n, j, b, lo, hi, ok) {
  o = ""; len = length(s)
  for (i = 1; i <= len; i++) {
    c = substr(s, i, 1); k = ord[c]
    if (c == "\"") o = o "\\\""
    else if (c == "\\") o = o "\\\\"
    else if (k == 9) o = o "\\t"
    else if (k == 13) o = o "\\r"
    else if (k < 32) o = o sprintf("\\u%04x", k)
    else if (k < 128) o = o c
    else {
      n = 0
      if (k >= 194 && k <= 223) n = 1
      else if (k >= 224 && k <= 239) n = 2
      else if (k >= 240 && k <= 244) n = 3
      ok = (n > 0 && i + n <= len)
      lo = 128; hi = 191
      if (k == 224) lo = 160
      if (k == 237) hi = 159
      if (k == 240) lo = 144
      if (k == 244) hi = 143
      for (j = 1; ok && j <= n; j++) {
        b = ord[substr(s, i + j, 1)]
        if (j == 1) { if (b < lo || b > hi) ok = 0 }
        else if (b < 128 || b > 191) ok = 0
      }
      if (ok) { o = o substr(s, i, n + 1); i += n }
      else o = o "\\ufffd"
    }
  }
  return o
}
BEGIN { for (i = 1; i < 256; i++) ord[sprintf("%c", i)] = i; out = ""; lines = 0 }
{ if (lines++) out = out "\\n"; out = out esc($0) }
END { printf "\"%s\"", out }
'

json_string() { printf '%s' "$1" | awk "$JSON_ESCAPE_AWK"; }

if [ "${1:-}" = "--json-string" ]; then
  awk "$JSON_ESCAPE_AWK"
  exit
fi

# A value, or null when empty.
json_or_null() {
  if [ -n "$1" ]; then json_string "$1"; else printf 'null'; fi
}

# V := the file's text without leading and trailing white space; false when unreadable or empty.
read_value() {
  V=""
  [ -f "$1" ] && [ -r "$1" ] || return 1
  V="$(cat "$1" 2>/dev/null)" || { V=""; return 1; }
  while :; do case "$V" in [[:space:]]*) V="${V#?}" ;; *) break ;; esac; done
  while :; do case "$V" in *[[:space:]]) V="${V%?}" ;; *) break ;; esac; done
  [ -n "$V" ]
}

is_uint() { case "$1" in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac; }

GIB=1073741824

# ---------------------------------------------------------------------------------------------
# CPUs: sockets are distinct "physical id"s, cores distinct (physical id, core id) pairs (or the
# sum of "cpu cores" per socket), threads the "processor" entries. arm64 has none of the first
# three: one socket, cores = threads.

cpu_facts="$(awk '
  function val() { v = substr($0, index($0, ":") + 1); sub(/^[ \t]+/, "", v); sub(/[ \t\r]+$/, "", v); return v }
  {
    key = $0; if (index(key, ":") == 0) next
    key = substr(key, 1, index(key, ":") - 1); sub(/[ \t]+$/, "", key)
  }
  key == "processor" { threads++; phys = ""; next }
  key == "physical id" { phys = val(); if (!(phys in sockets)) { sockets[phys] = 1; nsockets++ }; next }
  key == "core id" { c = phys SUBSEP val(); if (!(c in coreids)) { coreids[c] = 1; ncoreids++ }; next }
  key == "cpu cores" { if (!(phys in percore)) { percore[phys] = 1; corecount += val() }; next }
  key == "model name" && model == "" { model = val(); next }
  key == "cpu MHz" && mhz == "" { mhz = val(); next }
  key == "Hardware" && hardware == "" { hardware = val(); next }
  key == "CPU implementer" && impl == "" { impl = tolower(val()); next }
  key == "CPU part" && part == "" { part = tolower(val()); next }
  END {
    if (nsockets > 0) {
      cores = ncoreids > 0 ? ncoreids : (corecount > 0 ? corecount : threads)
    } else {
      nsockets = threads > 0 ? 1 : 0; cores = threads
    }
    if (model == "") model = hardware
    if (model == "" && part != "") {
      vendor["0x41"] = "ARM"; vendor["0x42"] = "Broadcom"; vendor["0x43"] = "Cavium"; vendor["0x48"] = "HiSilicon"
      vendor["0x4e"] = "NVIDIA"; vendor["0x50"] = "APM"; vendor["0x51"] = "Qualcomm"; vendor["0x61"] = "Apple"
      vendor["0xc0"] = "Ampere"
      name["0x41/0xd03"] = "Cortex-A53"; name["0x41/0xd07"] = "Cortex-A57"; name["0x41/0xd08"] = "Cortex-A72"
      name["0x41/0xd0c"] = "Neoverse-N1"; name["0x41/0xd40"] = "Neoverse-V1"; name["0x41/0xd49"] = "Neoverse-N2"
      name["0x41/0xd4f"] = "Neoverse-V2"; name["0x43/0x0af"] = "ThunderX2"; name["0x48/0xd01"] = "Kunpeng-920"
      name["0xc0/0xac3"] = "AmpereOne"; name["0x50/0x000"] = "X-Gene"
      v = (impl in vendor) ? vendor[impl] : "CPU"
      model = ((impl "/" part) in name) ? v " " name[impl "/" part] : v " part " part
    }
    mhz = (mhz ~ /^[0-9]+(\.[0-9]*)?$/) ? int(mhz + 0.5) : 0
    printf "threads=%d\nsockets=%d\ncores=%d\nmhz=%d\nmodel=%s\n", threads, nsockets, cores, mhz, model
  }
' "$R/proc/cpuinfo" 2>/dev/null)"

cpu_threads=0 cpu_sockets=0 cpu_cores=0 cpu_mhz=0 cpu_model=""
while IFS= read -r line; do
  case "$line" in
    threads=*) cpu_threads="${line#threads=}" ;;
    sockets=*) cpu_sockets="${line#sockets=}" ;;
    cores=*) cpu_cores="${line#cores=}" ;;
    mhz=*) cpu_mhz="${line#mhz=}" ;;
    model=*) cpu_model="${line#model=}" ;;
  esac
done <<EOF
$cpu_facts
EOF
if [ "$cpu_mhz" -eq 0 ] && read_value "$R/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq" && is_uint "$V"; then
  cpu_mhz=$((V / 1000)) # kHz
fi
[ -n "$cpu_model" ] || cpu_model="unknown"

arch="${B7_ARCH:-$(uname -m 2>/dev/null)}"
case "$arch" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) arch=unknown ;;
esac

# ---------------------------------------------------------------------------------------------
# Memory: MemTotal (what the kernel can use), GiB rounded to the nearest: the kernel keeps a few
# percent for itself, so a 16 GiB machine shows ~15.6 and must still meet minMemoryGB: 16.

mem_kb="$(awk '$1 == "MemTotal:" { print $2; exit }' "$R/proc/meminfo" 2>/dev/null)"
is_uint "$mem_kb" || mem_kb=0
mem_bytes=$((mem_kb * 1024))

# ---------------------------------------------------------------------------------------------
# Disks: whole block devices; no partitions, loop, ram, device-mapper, optical, zram, md, nbd,
# floppy, eMMC boot areas, hidden NVMe multipath paths or empty media.

disks=""
for path in "$R"/sys/class/block/*; do
  [ -e "$path" ] || continue
  name="${path##*/}"
  case "$name" in
    loop* | ram* | dm-* | sr* | zram* | md* | nbd* | fd* | mtdblock* | *boot[0-9] | *rpmb) continue ;;
    nvme*c*n*) continue ;;
  esac
  [ -e "$path/partition" ] && continue
  read_value "$path/size" && is_uint "$V" || continue
  [ "$V" -gt 0 ] || continue
  bytes=$((V * 512))
  device="/dev/$(printf '%s' "$name" | tr '!' '/')"
  case "$device" in *[!A-Za-z0-9/_.-]*) continue ;; esac
  if [ "${name#nvme}" != "$name" ]; then
    type=NVMe
  elif read_value "$path/queue/rotational" && [ "$V" = 1 ]; then
    type=HDD
  else
    type=SSD
  fi
  model=""
  read_value "$path/device/model" && model="$V"
  serial=""
  if read_value "$path/device/serial" || read_value "$path/serial"; then
    serial="$V"
  elif [ -r "$path/device/vpd_pg80" ]; then # SCSI unit serial number page: 4-byte header
    serial="$(tail -c +5 "$path/device/vpd_pg80" 2>/dev/null | tr -d '\000')"
    V="$serial"; while :; do case "$V" in [[:space:]]*) V="${V#?}" ;; *) break ;; esac; done
    while :; do case "$V" in *[[:space:]]) V="${V%?}" ;; *) break ;; esac; done
    serial="$V"
  fi
  if [ -z "$serial" ] && { read_value "$path/wwid" || read_value "$path/device/wwid"; }; then
    serial="$V"
  fi
  entry="{\"device\":$(json_string "$device"),\"sizeBytes\":$bytes,\"sizeGB\":$((bytes / GIB)),\"type\":\"$type\",\"model\":$(json_or_null "$model"),\"serial\":$(json_or_null "$serial")}"
  disks="${disks:+$disks,}$entry"
done

# ---------------------------------------------------------------------------------------------
# NICs: physical ones (with a device link), Ethernet-sized addresses only.

nics=""
first_up=""
first_mac=""
for path in "$R"/sys/class/net/*; do
  [ -e "$path" ] || continue
  name="${path##*/}"
  [ "$name" = lo ] && continue
  [ -e "$path/device" ] || continue
  read_value "$path/address" || continue
  mac="$(printf '%s' "$V" | tr 'A-F' 'a-f')"
  case "$mac" in
    [0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]) ;;
    *) continue ;;
  esac
  link=unknown
  # carrier is set at once; operstate follows it up to a second later (the kernel's linkwatch),
  # so a report taken right after DHCP could call a live link down.
  if read_value "$path/carrier" && [ "$V" = 1 ]; then
    link=up
  elif read_value "$path/operstate"; then
    case "$V" in
      up) link=up ;;
      down | lowerlayerdown | notpresent) link=down ;;
    esac
  fi
  speed=null
  if [ "$link" = up ] && read_value "$path/speed" && is_uint "$V" && [ "$V" -gt 0 ]; then
    speed="$V"
  fi
  driver=""
  if [ -L "$path/device/driver" ]; then
    driver="$(readlink "$path/device/driver" 2>/dev/null)"
    driver="${driver##*/}"
  fi
  [ -n "$first_mac" ] || first_mac="$mac"
  [ -n "$first_up" ] || [ "$link" != up ] || first_up="$mac"
  entry="{\"interface\":$(json_string "$name"),\"macAddress\":\"$mac\",\"linkStatus\":\"$link\",\"speedMbps\":$speed,\"driver\":$(json_or_null "$driver")}"
  nics="${nics:+$nics,}$entry"
done

# The MAC this host network-booted from: BOOTIF=01-aa-bb-cc-dd-ee-ff (iPXE/PXELINUX style),
# else the first NIC with link, else the first NIC.
boot_mac=""
if read_value "$R/proc/cmdline"; then
  for word in $V; do
    case "$word" in
      BOOTIF=*)
        mac="${word#BOOTIF=}"
        case "$mac" in ??-??-??-??-??-??-??) mac="${mac#??-}" ;; esac
        mac="$(printf '%s' "$mac" | tr 'A-F-' 'a-f:')"
        case "$mac" in
          [0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]) boot_mac="$mac" ;;
        esac
        ;;
    esac
  done
fi
[ -n "$boot_mac" ] || boot_mac="$first_up"
[ -n "$boot_mac" ] || boot_mac="$first_mac"
[ -n "$boot_mac" ] || boot_mac="00:00:00:00:00:00"

# ---------------------------------------------------------------------------------------------
# System (DMI; product_serial is readable by root only, which the ramdisk is).

dmi() { if read_value "$R/sys/class/dmi/id/$1"; then json_string "$V"; else printf 'null'; fi; }

timestamp="$(date -u +%Y-%m-%dT%H:%M:%SZ 2>/dev/null)"
case "$timestamp" in
  [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z) timestamp="\"timestamp\":\"$timestamp\"," ;;
  *) timestamp="" ;;
esac

printf '{%s"bootMACAddress":"%s",' "$timestamp" "$boot_mac"
printf '"cpus":{"count":%d,"cores":%d,"threads":%d,"model":%s,"architecture":"%s","mhz":%d},' \
  "$cpu_sockets" "$cpu_cores" "$cpu_threads" "$(json_string "$cpu_model")" "$arch" "$cpu_mhz"
printf '"memory":{"totalBytes":%s,"totalGB":%s},' "$mem_bytes" "$(((mem_bytes + GIB / 2) / GIB))"
printf '"disks":[%s],"nics":[%s],' "$disks" "$nics"
printf '"system":{"manufacturer":%s,"model":%s,"serialNumber":%s,"biosVersion":%s,"bmcAddress":%s}}\n' \
  "$(dmi sys_vendor)" "$(dmi product_name)" "$(dmi product_serial)" "$(dmi bios_version)" "$(json_or_null "${B7_BMC_ADDRESS:-}")"
