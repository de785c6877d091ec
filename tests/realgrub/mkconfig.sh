#!/bin/sh
# Runs the real grub-mkconfig over a prepared tree, in the private mount namespace unshare(1) gives it:
# DIR/boot is mounted on /boot, DIR/grub.d on /etc/grub.d and DIR/default on /etc/default, so the real
# scripts read the files xenbook wrote and nothing of the machine's own /boot or /etc changes.
# Usage: unshare --mount --propagation private sh mkconfig.sh DIR grub-mkconfig [OPTION...]
set -eu
dir=$1
shift
[ "$1" = grub-mkconfig ] || { echo "mkconfig.sh runs grub-mkconfig only, not $1" >&2; exit 125; }
mount --bind "$dir/boot" /boot
mount --bind "$dir/grub.d" /etc/grub.d
mount --bind "$dir/default" /etc/default
exec "$@"
