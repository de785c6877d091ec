#!/bin/busybox sh
# /init of the e2e test guest's tiny initramfs: one marker line on its console (hvc0), then power off.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs devtmpfs /dev
echo "XENBOOK-GUEST-MARKER cmdline: $(/bin/busybox cat /proc/cmdline)" >/dev/hvc0
/bin/busybox sync
/bin/busybox poweroff -f
