#!/bin/busybox sh
# /init of the e2e test guest's tiny initramfs: its network through dom0's bridge (xen-netfront, a static address,
# a ping of dom0 on xenbr0), then one marker line on its console (hvc0), then power off.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
net() { echo "XENBOOK-GUEST-NET $*" >/dev/hvc0; }
if /bin/busybox insmod /lib/modules/xen-netfront.ko; then
  i=0
  until [ -e /sys/class/net/eth0 ] || [ $i -ge 50 ]; do i=$((i + 1)); /bin/busybox sleep 0.2; done
  /bin/busybox ip address add 10.0.0.2/24 dev eth0 && /bin/busybox ip link set dev eth0 up
  net "eth0 $(/bin/busybox cat /sys/class/net/eth0/address 2>/dev/null) 10.0.0.2/24:" \
    "$(/bin/busybox ping -c 3 -W 5 10.0.0.1 2>&1 | /bin/busybox grep 'packets transmitted')"
else
  net "insmod xen-netfront failed"
fi
echo "XENBOOK-GUEST-MARKER cmdline: $(/bin/busybox cat /proc/cmdline)" >/dev/hvc0
/bin/busybox sync
/bin/busybox poweroff -f
