"""Helpers for tests that start several processes."""
import socket


def free_port() -> str:
    """A TCP port on 127.0.0.1 that is free now (for ``MASTER_PORT`` /
    ``PORT`` of a process group started next)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return str(sock.getsockname()[1])
