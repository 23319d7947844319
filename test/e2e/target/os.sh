#!/bin/sh
# The "installed OS" of the end-to-end test: the inspector's kernel and initramfs with this file in
# place of flow.sh (target-initrd.ts appends it as a second archive). The inspector's init has
# loaded the drivers and configured the NIC by DHCP when it runs this. It does what a provisioned
# OS does with Beskar7: read its bootstrap data from the NoCloud seed on its command line, say
# booted with its OS token, and power off when the power button is pressed (a graceful shutdown).
set -u
API="" HOST="" TOKEN="" SEED=""
set -f
for word in $(cat /proc/cmdline); do
  case "$word" in
    beskar7.api=*) API="${word#*=}" ;;
    beskar7.host=*) HOST="${word#*=}" ;;
    beskar7.token=*) TOKEN="${word#*=}" ;;
    ds=nocloud\;s=*) SEED="${word#ds=nocloud;s=}" ;;
  esac
done
set +f
say() { printf 'beskar7-target: %s\n' "$*"; }
say "target OS up, kernel $(uname -r), host $HOST"

# The power button (what a BMC's graceful shutdown presses). The ACPI fixed-feature button has a
# counter in sysfs; this OS has no input drivers for an ACPI daemon, so it watches the counter.
PRESSES=/sys/firmware/acpi/interrupts/ff_pwr_btn
if [ -r "$PRESSES" ]; then
  (
    pressed="$(awk '{ print $1 }' "$PRESSES")"
    while sleep 0.2; do
      [ "$(awk '{ print $1 }' "$PRESSES")" = "$pressed" ] && continue
      say "power button: powering off"
      sync
      poweroff -f
    done
  ) &
  say "the power button powers off"
else
  say "no ACPI power button counter ($PRESSES): a graceful shutdown will time out"
fi

[ -n "$SEED" ] || say "no NoCloud seed on the command line"
if user_data="$(timeout 30 wget -q -O - "${SEED}user-data" 2>&1)"; then
  say "user-data: $(printf '%s' "$user_data" | tr '\n' ' ' | head -c 300)"
else
  say "user-data fetch failed: $user_data"
fi
meta_data="$(timeout 30 wget -q -O - "${SEED}meta-data" 2>&1)" && say "meta-data: $(printf '%s' "$meta_data" | tr '\n' ' ' | head -c 300)"

address="$(ip -4 -o addr show dev "${B7_BOOT_IFACE:-eth0}" | awk '{ split($4, a, "/"); print a[1]; exit }')"
body="{\"source\":\"os\",\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$address\"}]}"
tries=0
until timeout 30 wget -q -O /dev/null --header "Authorization: Bearer $TOKEN" --header 'Content-Type: application/json' --post-data "$body" "$API/api/v1/ramdisk/$HOST/booted"; do
  tries=$((tries + 1))
  [ "$tries" -lt 10 ] || { say "booted: giving up"; break; }
  sleep 2
done
[ "$tries" -lt 10 ] && say "booted reported ($address)"
while :; do sleep 3600; done
