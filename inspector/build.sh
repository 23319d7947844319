#!/usr/bin/env bash
# Builds the inspection ramdisk: vmlinuz + initramfs.gz, from Debian packages, reproducibly.
#
#   bash inspector/build.sh [--out DIR] [--arch amd64]
#
# Everything comes from `apt-get download` (no package is installed into this system, no root
# needed): busybox-static, kexec-tools, zstd, util-linux (wipefs, blkdiscard), the shared
# libraries those link against, and the kernel the linux-image-amd64 metapackage points at
# (only the storage/NIC modules listed below, with their dependencies, go into the initramfs).
# Downloads and unpacked packages are cached in ${BESKAR7_CACHE:-$HOME/.cache/beskar7}/inspector/,
# so a second build needs no network and takes seconds.
#
# Reproducible: the output is a function of the package versions, the files under inspector/
# and SOURCE_DATE_EPOCH (default: the newest file date inside the packages). Every mtime is set
# to SOURCE_DATE_EPOCH, owners are 0:0, the file list is sorted, inode and device numbers are
# renumbered by cpio, and gzip stores no name or time.
set -euo pipefail
umask 022
export LC_ALL=C

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${BESKAR7_CACHE:-${HOME:-/root}/.cache/beskar7}/inspector"
out="$cache_root/out"
arch=amd64

usage() {
  sed -n '2,4p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  echo "options: --out DIR (default $cache_root/out), --arch amd64"
  echo "env: BESKAR7_CACHE, SOURCE_DATE_EPOCH, B7_KERNEL_PACKAGE (e.g. linux-image-6.1.0-28-amd64),"
  echo "     B7_EXTRA_MODULES (more module names, space-separated)"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --out=*) out="${1#--out=}"; shift ;;
    --arch) arch="${2:?--arch needs a value}"; shift 2 ;;
    --arch=*) arch="${1#--arch=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

case "$arch" in
  amd64) triplet=x86_64-linux-gnu; loader_path=lib64/ld-linux-x86-64.so.2 ;;
  *) echo "build.sh: --arch $arch is not supported yet (amd64 only: the module list and loader are x86-64's)" >&2; exit 2 ;;
esac
host_arch="$(dpkg --print-architecture 2>/dev/null || echo unknown)"
if [ "$host_arch" != "$arch" ]; then
  echo "build.sh: building for $arch needs a $arch machine (it runs the packaged busybox and loader); this is $host_arch" >&2
  exit 2
fi
for tool in apt-get apt-cache dpkg-deb sha256sum gzip find sort; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build.sh: $tool is required" >&2; exit 2; }
done

debs="$cache_root/debs"
extract="$cache_root/extract"
mkdir -p "$debs" "$extract" "$out"
started=$(date +%s)
log() { printf 'build.sh: %s\n' "$*" >&2; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }

# Kernel modules: virtio (PCI, net, block, SCSI), common server NICs and storage controllers.
modules=(
  virtio_pci virtio_net virtio_blk virtio_scsi
  e1000 e1000e igb ixgbe i40e ice bnxt_en tg3 mlx5_core r8169
  ahci nvme sd_mod megaraid_sas mpt3sas
  # Loaded by name through the crypto API (request_module), not by symbol, so modules.dep misses them.
  crc64_rocksoft_generic crc32c_generic crct10dif_generic
)
# shellcheck disable=SC2206
[ -n "${B7_EXTRA_MODULES:-}" ] && modules+=(${B7_EXTRA_MODULES})

# ---------------------------------------------------------------------------------------------
# Package versions (the candidates of this machine's apt lists) and the library closure.

# One apt-cache call per batch of packages (each call costs half a second): the candidate's
# Version, Architecture, SHA256 and dependencies, kept in associative arrays.
declare -A version=() pkgarch=() debsha=() depends=()
query_packages() {
  local name="" field value
  while IFS= read -r line; do
    case "$line" in
      "Package: "*) name="${line#Package: }" ;;
      "Version: "*) version[$name]="${line#Version: }" ;;
      "Architecture: "*) pkgarch[$name]="${line#Architecture: }" ;;
      "SHA256: "*) debsha[$name]="${line#SHA256: }" ;;
      "Depends: "* | "Pre-Depends: "*)
        field="${line%%:*}"; value="${line#*: }"
        depends[$name]="${depends[$name]:-}${depends[$name]:+, }$value"
        ;;
    esac
  done < <(apt-cache show --no-all-versions "$@" 2>/dev/null || true)
}
first_alternatives() { # package -> names in Depends and Pre-Depends (first alternative each)
  printf '%s\n' "${depends[$1]:-}" | tr ',' '\n' |
    sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' | sed '/^$/d'
}

kernel_pkg="${B7_KERNEL_PACKAGE:-}"
if [ -z "$kernel_pkg" ]; then
  query_packages "linux-image-$arch"
  kernel_pkg="$(first_alternatives "linux-image-$arch" | grep -m1 '^linux-image-' || true)"
  [ -n "$kernel_pkg" ] || die "apt-cache knows no linux-image-$arch; run apt-get update (or set B7_KERNEL_PACKAGE)"
fi

tools=(busybox-static kexec-tools zstd util-linux)
declare -A wanted=()
level=("${tools[@]}" "$kernel_pkg")
for p in "${level[@]}"; do wanted[$p]=1; done
# Shared libraries: follow lib* dependencies only (debconf, util-linux-extra and friends are not
# needed to run a binary); the loader decides below which of their files are really linked.
while [ ${#level[@]} -gt 0 ]; do
  query_packages "${level[@]}"
  next=()
  for p in "${level[@]}"; do
    [ "$p" = "$kernel_pkg" ] && continue
    while read -r dep; do
      case "$dep" in lib* | zlib*) ;; *) continue ;; esac
      [ -n "${wanted[$dep]:-}" ] && continue
      wanted[$dep]=1; next+=("$dep")
    done < <(first_alternatives "$p")
  done
  level=("${next[@]}")
done

packages=()
while read -r p; do packages+=("$p"); done < <(printf '%s\n' "${!wanted[@]}" | sort)

declare -A debfile=()
missing=()
for p in "${packages[@]}"; do
  v="${version[$p]:-}"
  [ -n "$v" ] || die "apt-cache has no candidate for $p; run apt-get update"
  debfile[$p]="${p}_${v//:/%3a}_${pkgarch[$p]}.deb" # how apt-get download names it
  if [ -f "$debs/${debfile[$p]}" ] && [ "$(sha256sum < "$debs/${debfile[$p]}" | cut -d' ' -f1)" = "${debsha[$p]}" ]; then
    continue
  fi
  rm -f "$debs/${debfile[$p]}"
  missing+=("$p=$v")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "downloading ${#missing[@]} packages into $debs"
  sandbox=()
  [ "$(id -u)" -eq 0 ] && sandbox=(-o APT::Sandbox::User=root) # _apt cannot write to root's cache
  (cd "$debs" && apt-get "${sandbox[@]}" -q download "${missing[@]}") >&2 || die "apt-get download failed (no repository reachable?)"
fi
for p in "${packages[@]}"; do
  [ -f "$debs/${debfile[$p]}" ] || die "download of $p left no ${debfile[$p]}"
  [ "$(sha256sum < "$debs/${debfile[$p]}" | cut -d' ' -f1)" = "${debsha[$p]}" ] || die "${debfile[$p]}: sha256 differs from the apt index"
done

# Unpack each package once (cached; the directory name carries the version).
for p in "${packages[@]}"; do
  d="$extract/${debfile[$p]%.deb}"
  [ -f "$d/.done" ] && continue
  rm -rf "$d" && mkdir -p "$d"
  dpkg-deb -x "$debs/${debfile[$p]}" "$d"
  touch "$d/.done"
done
dir_of() { printf '%s/%s\n' "$extract" "${debfile[$1]%.deb}"; }

bb="$(dir_of busybox-static)/bin/busybox"
[ -x "$bb" ] || die "busybox-static has no bin/busybox"
kdir="$(dir_of "$kernel_pkg")"
kver="$(ls "$kdir/lib/modules" | head -n1)"
[ -n "$kver" ] && [ -f "$kdir/boot/vmlinuz-$kver" ] || die "$kernel_pkg holds no boot/vmlinuz-* and lib/modules/*"

# SOURCE_DATE_EPOCH: given, or the newest file in the packages (fixed by their versions).
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=0
  for p in "${packages[@]}"; do
    d="$(dir_of "$p")"
    if [ ! -f "$d/.sde" ]; then # files only: directory times are the unpacking's
      find "$d" -mindepth 1 -type f ! -name .done ! -name .sde -printf '%T@\n' | cut -d. -f1 | sort -n | tail -n1 > "$d/.sde"
    fi
    t="$(cat "$d/.sde")"
    [ "$t" -gt "$SOURCE_DATE_EPOCH" ] && SOURCE_DATE_EPOCH="$t"
  done
fi
case "$SOURCE_DATE_EPOCH" in ''|*[!0-9]*) die "SOURCE_DATE_EPOCH must be seconds since 1970" ;; esac
export SOURCE_DATE_EPOCH

# ---------------------------------------------------------------------------------------------
# The root tree.

work="$cache_root/work"
root="$work/root"
rm -rf "$work"
mkdir -p "$root"
for d in bin sbin usr/bin usr/sbin "lib/$triplet" lib64 etc/beskar7 dev proc sys run tmp root var usr/share/beskar7 "lib/modules/$kver"; do
  mkdir -p "$root/$d"
done

install -m 0755 "$bb" "$root/bin/busybox"
install -m 0755 "$(dir_of kexec-tools)/sbin/kexec" "$root/sbin/kexec"
install -m 0755 "$(dir_of zstd)/usr/bin/zstd" "$root/usr/bin/zstd"
ul="$(dir_of util-linux)"
for tool in wipefs blkdiscard; do
  src="$(find "$ul/sbin" "$ul/usr/sbin" "$ul/bin" "$ul/usr/bin" -maxdepth 1 -name "$tool" 2>/dev/null | head -n1)"
  [ -n "$src" ] || die "util-linux has no $tool"
  install -m 0755 "$src" "$root/sbin/$tool"
done
# Busybox applets as symlinks, except where a real tool stands (kexec, zstd, wipefs, blkdiscard).
while read -r applet; do
  case "$applet" in bin/busybox|'') continue ;; esac
  name="${applet##*/}"
  for real in sbin/kexec usr/bin/zstd sbin/wipefs sbin/blkdiscard; do
    [ "$name" = "${real##*/}" ] && continue 2
  done
  mkdir -p "$root/$(dirname "$applet")"
  [ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done < <("$bb" --list-full | sort)

# Shared libraries: ask the packaged loader what each binary links, resolved only among the
# downloaded packages; copy each under its soname.
libdc="$(dir_of libc6)"
loader="$libdc/$loader_path"
[ -e "$loader" ] || die "libc6 has no $loader_path"
libpath=""
for p in "${packages[@]}"; do
  d="$(dir_of "$p")"
  for sub in "lib/$triplet" "usr/lib/$triplet"; do
    [ -d "$d/$sub" ] && libpath="${libpath:+$libpath:}$d/$sub"
  done
done
install -m 0755 "$(readlink -f "$loader")" "$root/$loader_path"
declare -A copied=()
for bin in sbin/kexec usr/bin/zstd sbin/wipefs sbin/blkdiscard; do
  listing="$("$loader" --library-path "$libpath" --list "$root/$bin")" || die "the loader cannot resolve the libraries of $bin"
  while read -r soname arrow path _; do
    [ "$arrow" = "=>" ] || continue
    case "$soname" in */*) continue ;; esac # the loader itself, installed above
    case "$path" in "$extract"/*) ;; *) die "$bin needs $soname, found outside the downloaded packages ($path)" ;; esac
    [ -n "${copied[$soname]:-}" ] && continue
    install -m 0644 "$(readlink -f "$path")" "$root/lib/$triplet/$soname"
    copied[$soname]=1
  done <<< "$listing"
done
# Check: with only the tree's own libraries, every binary resolves and runs.
for bin in sbin/kexec usr/bin/zstd sbin/wipefs sbin/blkdiscard; do
  "$root/$loader_path" --library-path "$root/lib/$triplet" "$root/$bin" --version >/dev/null 2>&1 ||
    die "$bin does not run with the libraries of the tree"
done

# Kernel modules: the wanted ones and everything modules.dep says they need.
kmods="$kdir/lib/modules/$kver"
if [ ! -s "$kmods/modules.dep" ]; then
  log "depmod over the whole kernel (once per kernel version)"
  "$bb" depmod -b "$kdir" "$kver"
fi
declare -A modpath=()
while IFS=: read -r path _; do
  name="${path##*/}"; name="${name%%.ko*}"; name="${name//-/_}"
  modpath[$name]="$path"
done < "$kmods/modules.dep"
declare -A builtin=()
while read -r path; do
  name="${path##*/}"; name="${name%%.ko*}"; builtin[${name//-/_}]=1
done < "$kmods/modules.builtin"
declare -A modset=()
for m in "${modules[@]}"; do
  key="${m//-/_}"
  if [ -z "${modpath[$key]:-}" ]; then
    [ -n "${builtin[$key]:-}" ] && continue
    die "kernel $kver has no module $m"
  fi
  modset[${modpath[$key]}]=1
  for dep in $(grep -m1 "^${modpath[$key]}:" "$kmods/modules.dep" | cut -d: -f2-); do
    modset[$dep]=1
  done
done
for rel in "${!modset[@]}"; do
  mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
  install -m 0644 "$kmods/$rel" "$root/lib/modules/$kver/$rel"
done
for f in modules.builtin modules.builtin.modinfo modules.order; do
  [ -f "$kmods/$f" ] && install -m 0644 "$kmods/$f" "$root/lib/modules/$kver/$f"
done
"$bb" depmod -b "$root" "$kver"
for f in "$root/lib/modules/$kver"/modules.*; do # busybox writes them in directory order
  case "$f" in */modules.builtin*|*/modules.order) continue ;; esac
  sort -o "$f" "$f"
done

# The agent.
install -m 0755 "$here/init" "$root/init"
install -m 0755 "$here/agent/flow.sh" "$root/usr/share/beskar7/flow.sh"
install -m 0755 "$here/agent/report.sh" "$root/usr/share/beskar7/report.sh"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
: > "$root/etc/resolv.conf"
{
  echo "# beskar7 inspection ramdisk"
  echo "kernel $kver"
  echo "source_date_epoch $SOURCE_DATE_EPOCH"
  for p in "${packages[@]}"; do echo "package $p ${version[$p]}"; done
  echo "modules $(printf '%s\n' "${!modset[@]}" | sed 's|.*/||; s|\.ko.*||' | sort | tr '\n' ' ')"
} > "$root/etc/beskar7/manifest"

# Permissions and times, independent of this machine's umask and of the package dates.
find "$root" -type d -exec chmod 0755 {} +
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# ---------------------------------------------------------------------------------------------
# The archive: busybox cpio over the sorted list, then /dev/console and /dev/null (device nodes
# need root to create, so their newc entries are written here directly), one gzip stream.

newc_entry() { # name mode(octal) rdevmajor rdevminor -> one empty-file newc header + name
  local name="$1" mode=$((8#$2)) namesize=$((${#1} + 1))
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
    0 "$mode" 0 0 1 "$SOURCE_DATE_EPOCH" 0 0 0 "$3" "$4" "$namesize" 0
  printf '%s\0' "$name"
  local pad=$(( (4 - (110 + namesize) % 4) % 4 ))
  [ "$pad" -gt 0 ] && head -c "$pad" /dev/zero
  return 0
}

tmp_initrd="$out/.initramfs.gz.$$"
tmp_kernel="$out/.vmlinuz.$$"
trap 'rm -f "$tmp_initrd" "$tmp_kernel"' EXIT
cpio_file="$work/initramfs.cpio"
{
  (cd "$root" && find . -mindepth 1 | sed 's|^\./||' | sort |
    "$bb" cpio -o -H newc -R 0:0 --ignore-devno --renumber-inodes 2>/dev/null)
  newc_entry dev/console 020600 5 1
  newc_entry dev/null 020666 1 3
  newc_entry TRAILER!!! 0 0 0
} > "$cpio_file"
# gzip -9 is most of a warm build: reuse the last result when the archive is the same.
cpio_sha="$(sha256sum < "$cpio_file" | cut -d' ' -f1)"
gz_cache="$cache_root/gzip-cache"
if [ -f "$gz_cache/$cpio_sha.gz" ]; then
  cp "$gz_cache/$cpio_sha.gz" "$tmp_initrd"
else
  gzip -n -9 < "$cpio_file" > "$tmp_initrd"
  mkdir -p "$gz_cache" && cp "$tmp_initrd" "$gz_cache/$cpio_sha.gz"
  # Keep the newest four.
  ls -t "$gz_cache"/*.gz | tail -n +5 | while read -r old; do rm -f "$old"; done
fi
rm -f "$cpio_file"
install -m 0644 "$kdir/boot/vmlinuz-$kver" "$tmp_kernel"
touch -d "@$SOURCE_DATE_EPOCH" "$tmp_initrd" "$tmp_kernel"
mv -f "$tmp_initrd" "$out/initramfs.gz"
mv -f "$tmp_kernel" "$out/vmlinuz"
trap - EXIT

(cd "$out" && sha256sum vmlinuz initramfs.gz > SHA256SUMS)
log "kernel $kver, ${#modset[@]} modules, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH, $(( $(date +%s) - started )) s"
for f in vmlinuz initramfs.gz; do
  printf '%s  %s  %s bytes\n' "$(sha256sum < "$out/$f" | cut -d' ' -f1)" "$out/$f" "$(stat -c %s "$out/$f")"
done
