"""Targets xenbook runs commands on and reads files from: local, ssh, chroot, sudo and the tests' fake host."""
