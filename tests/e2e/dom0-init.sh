#!/bin/sh
# /init of the e2e test's dom0 initramfs. Every stage it passes prints "XENBOOK-STAGE <name>" on Xen's console
# (hvc0, which Xen copies to the serial port); a failed step prints "XENBOOK-FAIL <stage>: <why>" and powers off.
# Stages: xen, dom0, xenstored, xl-info, xl-parse, guest-created, guest-marker, then "XENBOOK-DONE".
export PATH=/usr/sbin:/usr/bin:/usr/lib/xen-4.17/bin
GUEST_CFG=/etc/xen/dom01.cfg
GUEST_LOG=/var/log/xen/console/guest-dom01.log

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/hvc0 2>&1

stage() { echo "XENBOOK-STAGE $1"; }
fail() { echo "XENBOOK-FAIL $1: $2"; sync; poweroff -f; sleep 60; }

[ "$(cat /sys/hypervisor/type 2>/dev/null)" = xen ] || fail xen "dom0's kernel does not run on Xen"
echo "Xen $(cat /sys/hypervisor/version/major).$(cat /sys/hypervisor/version/minor)$(cat /sys/hypervisor/version/extra)"
stage xen

for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs loop xen-blkback llc stp bridge xen-netback; do
  insmod /lib/modules/$m.ko || fail dom0 "insmod $m"
done
mkdir -p /proc/xen
mount -t xenfs xenfs /proc/xen || fail dom0 "cannot mount xenfs at /proc/xen"
grep -q control_d /proc/xen/capabilities || fail dom0 "not the control domain: $(cat /proc/xen/capabilities)"
echo "dom0 kernel $(uname -r), $(grep MemTotal /proc/meminfo)"
stage dom0

# What udev and systemd-tmpfiles make on a real dom0: the hotplug scripts need /dev/fd and /dev/std*.
mkdir -p /dev/pts /dev/shm /run/lock /run/xen /run/xenstored /var/lib/xenstored /var/lib/xen /var/log/xen/console /tmp
mount -t devpts devpts /dev/pts
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
xenstored --pid-file /run/xenstored.pid || fail xenstored "xenstored did not start"
i=0
until xenstore-read -s / >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 100 ] || fail xenstored "xenstored does not answer"; sleep 0.2
done
xen-init-dom0 || fail xenstored "xen-init-dom0"
xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console \
  || fail xenstored "xenconsoled did not start"
stage xenstored

xl info || fail xl-info "xl info"
stage xl-info

# xl parses the guest's configuration exactly as xenbook wrote it; its dry run prints the domain as JSON.
echo "XENBOOK-XL-PARSE-BEGIN"
xl -N create "$GUEST_CFG" || fail xl-parse "xl -N create $GUEST_CFG"
echo "XENBOOK-XL-PARSE-END"
stage xl-parse

# The guest's disk (target=/dev/vg0/dom01): a small image on a loop device, linked where the volume would be.
# Its bridge (bridge=xenbr0): made here as the dom0 section's systemd-networkd files make it on the host.
dd if=/dev/zero of=/var/lib/xen/dom01.img bs=1M count=16 2>/dev/null
losetup /dev/loop0 /var/lib/xen/dom01.img || fail guest-created "losetup"
mkdir -p /dev/vg0 && ln -s /dev/loop0 /dev/vg0/dom01
ip link add name xenbr0 type bridge && ip link set xenbr0 up || fail guest-created "cannot create xenbr0"
xl create "$GUEST_CFG" || fail guest-created "xl create $GUEST_CFG"
xl list
stage guest-created

# What the manage dashboard reads and does, on the real toolstack: the guest paused (so it cannot finish while it is
# listed), `xl list -l`, `xl list`, `xentop -b` and `xl uptime` as Xen 4.17 prints them, then unpaused. Kernel
# messages are held back meanwhile so they cannot land inside the captures.
capture() { echo "XENBOOK-CAPTURE-BEGIN $1"; shift; "$@"; echo "XENBOOK-CAPTURE-END rc=$?"; }
echo 1 > /proc/sys/kernel/printk
xl pause dom01 || fail guest-created "xl pause dom01"
capture xl-list-l xl list -l
capture xl-list xl list
capture xentop env TERM=dumb xentop -b -i 2 -d 1
capture xl-uptime xl uptime
xl unpause dom01 || fail guest-created "xl unpause dom01"
echo 7 > /proc/sys/kernel/printk

i=0
until grep -q XENBOOK-GUEST-MARKER "$GUEST_LOG" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 600 ] || { cat "$GUEST_LOG"; fail guest-marker "no marker from the guest in 120 s"; }
  sleep 0.2
done
sed 's/^/dom01| /' "$GUEST_LOG"
stage guest-marker
echo "XENBOOK-DONE"
sync
poweroff -f
