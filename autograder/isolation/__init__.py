"""Isolating a kernel: the bubblewrap sandbox, its launcher, and how memory and process
limits are enforced (cgroup, systemd scope, rlimits and watchdog)."""
