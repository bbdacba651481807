"""crossgate: Zuul jobs and Ansible roles for cross-project integration gating."""

__version__ = "0.1.0"
