#!/bin/sh
# libvirtd for one test run, sharing nothing with a libvirt the machine may have: a private mount
# namespace puts the run's own directories over /etc/libvirt, /run/libvirt, /var/lib/libvirt,
# /var/cache/libvirt and /var/log/libvirt, and the client socket lives in <state>/sock, a path
# callers reach from outside that namespace (qemu:///system?socket=<state>/sock/libvirt-sock).
# Started inside the test's network namespace, so the taps of its domains join that namespace's
# bridge. Runs in the foreground: the PID the caller started is libvirtd's own (every step execs).
set -eu
state=${1:?usage: libvirtd-sandbox.sh <state-dir>}
case "$state" in /*) ;; *) echo "state dir must be absolute" >&2; exit 2 ;; esac

if [ "${B7_SANDBOX_INNER:-}" != yes ]; then
  for dir in etc run lib cache log sock; do mkdir -p "$state/$dir"; done
  # No virtlogd (QEMU writes its own log file), no virtlockd, no networks, no security driver:
  # the test owns everything these domains touch.
  cat > "$state/etc/libvirtd.conf" <<CONF
unix_sock_dir = "$state/sock"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:stderr"
CONF
  cat > "$state/etc/qemu.conf" <<CONF
stdio_handler = "file"
security_driver = "none"
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
CONF
  export B7_SANDBOX_INNER=yes
  exec unshare --mount --propagation private "$0" "$state"
fi

mount --bind "$state/etc" /etc/libvirt 2>/dev/null || { mkdir -p /etc/libvirt && mount --bind "$state/etc" /etc/libvirt; }
for pair in run:/run/libvirt lib:/var/lib/libvirt cache:/var/cache/libvirt log:/var/log/libvirt; do
  mkdir -p "${pair#*:}"
  mount --bind "$state/${pair%%:*}" "${pair#*:}"
done
exec libvirtd --config /etc/libvirt/libvirtd.conf
