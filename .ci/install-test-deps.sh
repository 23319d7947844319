#!/usr/bin/env bash
# Debian packages the test and benchmark suites drive as real peers. Idempotent; skips apt
# entirely when everything is already there (a warm machine), so a CI run stays fast.
set -euo pipefail

packages=(
  iproute2        # ip netns: the namespace tests' network
  busybox-static  # udhcpd (the site DHCP server), udhcpc (a plain DHCP client)
  zstd            # zstd disk images in the inspector flow test
  qemu-system-x86 # boots the built inspection ramdisk (TCG): report, kexec, disk write, wipe
  curl            # HTTP and TFTP client in namespaces
  ipxe            # /usr/lib/ipxe: the TFTP root the daemon serves
  tftp-hpa        # TFTP client
  atftp           # TFTP client with windowsize
  tftpd-hpa       # the TFTP benchmark's peer
  dnsmasq         # the proxyDHCP benchmark's peer
  kea-admin       # perfdhcp, the DHCP load generator
  nginx           # the iPXE-render benchmark's peer
  python3-sushy   # OpenStack Ironic's Redfish client, driven against our BMC test double
  python3-pip     # to install sushy-tools where the python3 on PATH has no pip
  # The VM end-to-end test (test/e2e): libvirt runs the VMs, sushy-tools' libvirt driver is their BMC.
  libvirt-daemon-system # libvirtd (started by the test in its own namespace; never as a service)
  libvirt-clients # virsh
  ovmf            # UEFI firmware for the OVMF VM
  ipxe-qemu       # the virtio NIC's iPXE ROM for the SeaBIOS VM
  libvirt-dev     # headers for libvirt-python, built by pip for the python3 that runs sushy-tools
  pkg-config      # libvirt-python's build finds libvirt with it
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
need_sushy_tools=""
command -v sushy-emulator >/dev/null 2>&1 || need_sushy_tools=yes
need_ansible=""
command -v ansible-playbook >/dev/null 2>&1 && command -v ansible-lint >/dev/null 2>&1 || need_ansible=yes
need_libvirt_python=""
python3 -c 'import libvirt' >/dev/null 2>&1 || need_libvirt_python=yes
# The inspection ramdisk (test/e2e boots it; test/system builds it): built once into the cache, so
# later builds take seconds and need no Debian mirror.
inspector_cache="${BESKAR7_CACHE:-$HOME/.cache/beskar7}/inspector/out"
need_inspector=""
[ -s "$inspector_cache/vmlinuz" ] && [ -s "$inspector_cache/initramfs.gz" ] || need_inspector=yes
# A real kube-apiserver, kube-controller-manager and etcd for the shim's integration tests, built
# from the Go module proxy into the cache (shim-operator/test-env/build-control-plane.sh).
control_plane="$(dirname "$0")/../shim-operator/test-env/build-control-plane.sh"
need_control_plane=""
[ -x "$(bash "$control_plane" --print-dir)/kube-apiserver" ] || need_control_plane=yes
# Cluster API's core manager and clusterctl, for the test against the real CAPI controllers.
capi="$(dirname "$0")/../shim-operator/test-env/build-capi.sh"
[ -x "$(bash "$capi" --print-dir)/bin/manager" ] || need_control_plane=yes
if [ ${#missing[@]} -eq 0 ] && [ -z "$need_sushy_tools$need_ansible$need_libvirt_python$need_inspector$need_control_plane" ]; then
  echo "test packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "missing: ${missing[*]} ${need_sushy_tools:+sushy-tools (pip)} ${need_ansible:+ansible-core ansible-lint (pip)} ${need_libvirt_python:+libvirt-python (pip)} ${need_control_plane:+kube-apiserver (shim-operator/test-env/build-control-plane.sh)} ${need_inspector:+inspector (inspector/build.sh)}; install them as root and run again" >&2
  exit 1
fi
# Packages like nginx, dnsmasq and tftpd-hpa would start their services on install; the tests
# start their own instances in namespaces or on loopback, so forbid that (policy-rc.d, exit 101).
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    # Removed however apt ends, so the machine's services start normally afterwards.
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"
fi

# sushy-tools (PyPI): the Redfish emulator of libvirt labs, the real peer of the Redfish client.
# A Debian python refuses pip into its own tree (PEP 668); that is the one case for the flag.
if [ -n "$need_sushy_tools" ]; then
  python3 -m pip install --quiet --disable-pip-version-check 'sushy-tools==2.2.0' \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'sushy-tools==2.2.0'
fi

# ansible-core and ansible-lint (PyPI): the syntax check and lint of ansible/ (test/system/ansible.test.ts).
# ansible-core 2.19 needs Python >= 3.11. The playbooks use ansible.builtin only: no collections.
if [ -n "$need_ansible" ]; then
  ansible_pins=('ansible-core==2.19.14' 'ansible-lint==26.10.1')
  python3 -m pip install --quiet --disable-pip-version-check "${ansible_pins[@]}" \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${ansible_pins[@]}"
fi
# libvirt-python (PyPI, built against Debian's libvirt 9.0.0): sushy-tools' libvirt driver imports
# it. Debian's python3-libvirt serves Debian's python only, not the python3 that runs sushy-tools.
if [ -n "$need_libvirt_python" ]; then
  python3 -m pip install --quiet --disable-pip-version-check 'libvirt-python==9.0.0' \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'libvirt-python==9.0.0'
fi
# pyenv puts new console scripts on PATH only through its shims.
if [ -n "$need_sushy_tools$need_ansible" ] && command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi

if [ -n "$need_inspector" ]; then
  echo "building the inspection ramdisk into $inspector_cache"
  bash "$(dirname "$0")/../inspector/build.sh" --arch amd64 > /dev/null
fi

# Go builds, from the Go module proxy (minutes, once; then cached): last, so that a machine without
# Go still gets everything the other suites need before this fails.
if [ -n "$need_control_plane" ]; then
  command -v go >/dev/null 2>&1 || { echo "the shim's integration tests need Go >= 1.26 to build kube-apiserver and Cluster API (shim-operator/test-env/); install it and run again" >&2; exit 1; }
  echo "building the Kubernetes control plane and Cluster API for the shim's integration tests"
  bash "$control_plane"
  bash "$capi"
fi
exit 0
