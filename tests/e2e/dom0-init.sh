#!/bin/sh
# /init of the e2e test's dom0 initramfs. Every stage it passes prints "XENBOOK-STAGE <name>" on Xen's console
# (hvc0, which Xen copies to the serial port); a failed step prints "XENBOOK-FAIL <stage>: <why>" and powers off.
# Stages: xen, dom0, xenstored, xl-info, xl-parse, guest-created, guest-marker, guest-network, then "XENBOOK-DONE".
# With xenbook.e2e=failures on dom0's command line it also runs what must fail (xl before Xen's devices exist, before
# xenstored, a PVH guest on a CPU without nested paging, a missing bridge, too much memory, an empty affinity mask),
# each between XENBOOK-RECORD-BEGIN/END lines, and stops after them (tests/recorded/doctor/qemu/ keeps copies).
export PATH=/usr/sbin:/usr/bin:/usr/lib/xen-4.17/bin
GUEST_CFG=/etc/xen/dom01.cfg
GUEST_LOG=/var/log/xen/console/guest-dom01.log

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/hvc0 2>&1

stage() { echo "XENBOOK-STAGE $1"; }
record() { name=$1; shift; echo "XENBOOK-RECORD-BEGIN $name: $*"; "$@"; echo "XENBOOK-RECORD-END $name rc=$?"; }
FAILURES=false
grep -qw xenbook.e2e=failures /proc/cmdline && FAILURES=true
fail() { echo "XENBOOK-FAIL $1: $2"; sync; poweroff -f; sleep 60; }

[ "$(cat /sys/hypervisor/type 2>/dev/null)" = xen ] || fail xen "dom0's kernel does not run on Xen"
echo "Xen $(cat /sys/hypervisor/version/major).$(cat /sys/hypervisor/version/minor)$(cat /sys/hypervisor/version/extra)"
echo "dom0 cmdline: $(cat /proc/cmdline)"  # printed here: xenbook's dom0 options may hold `quiet`
stage xen

$FAILURES && record xl-before-xen-devices xl list  # what xl says where /dev/xen/privcmd is missing
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
$FAILURES && record xl-without-xenstored timeout 15 xl list
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
if $FAILURES; then
  sed 's/^type = "pvh"/type = "pv"/' "$GUEST_CFG" > /tmp/pv.cfg
  record pvh-without-hap xl create "$GUEST_CFG"
  record missing-bridge xl create /tmp/pv.cfg
  xl destroy dom01 2>/dev/null
  sh /etc/xenbook-e2e/network.sh >/dev/null 2>&1
  sed 's/^memory = .*/memory = 4096/; s/^maxmem = .*/maxmem = 4096/' /tmp/pv.cfg > /tmp/big.cfg
  record out-of-memory xl create /tmp/big.cfg
  xl destroy dom01 2>/dev/null
  cp /etc/xen/xl.conf /tmp/xl.conf && echo 'vm.cpumask="1"' >> /etc/xen/xl.conf
  { cat /tmp/pv.cfg; echo 'cpus = "0"'; } > /tmp/pinned.cfg
  record affinity-empty xl create /tmp/pinned.cfg
  cp /tmp/xl.conf /etc/xen/xl.conf
  xl list
  stage failures
  echo "XENBOOK-DONE"
  sync
  poweroff -f
fi
# xenbook's systemd-networkd files for xenbr0, as the equivalent ip commands (tests/e2e/network.py)
sh /etc/xenbook-e2e/network.sh || fail guest-created "the bridge from xenbook's networkd files"
xl create "$GUEST_CFG" || fail guest-created "xl create $GUEST_CFG"
xl list
echo "guest devices: vbd $(xenstore-list /local/domain/0/backend/vbd/1); bridge xenbr0 ports: $(ls /sys/class/net/xenbr0/brif)"
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

# The guest pinged dom0's xenbr0 address through its vif in the bridge (guest-init.sh prints the result first).
grep -q "XENBOOK-GUEST-NET .* 3 packets received" "$GUEST_LOG" || fail guest-network "the guest did not reach dom0"
echo "dom0 xenbr0: $(ip -o -4 address show dev xenbr0 | awk '{print $4}')"
stage guest-network
echo "XENBOOK-DONE"
sync
poweroff -f
