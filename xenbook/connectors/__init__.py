"""Connectors: the hosts xenbook reaches (local, chroot, ssh, sudo, fake) and the target strings that name them."""
