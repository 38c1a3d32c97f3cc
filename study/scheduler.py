"""The Dask scheduler of ``--scheduler``: its address checked, probed for a Dask greeting, and a
``distributed.Client`` on it for the study's duration (``study.orchestrator``); all before any training.
"""

from __future__ import annotations

import contextlib

from study.errors import InputError
from study.text import plain_line

__all__ = ["client", "dask_backend", "SCHEDULER_TIMEOUT", "SCHEDULER_PROBE_SECONDS"]

SCHEDULER_TIMEOUT = 10.0
"""Seconds to wait for a Dask scheduler before giving up (before any training)."""


SCHEDULER_PROBE_SECONDS = 5.0
"""Seconds a scheduler address that accepts a connection has to greet as a Dask scheduler (it
speaks first: a small handshake message) before it is refused."""
_ADDRESS_FORM = "expected [tcp://]HOST:PORT, e.g. tcp://10.0.0.5:8786 (the address `dask scheduler` prints)"


def _scheduler_endpoint(scheduler) -> tuple:
    """``(scheme, host, port)`` of a scheduler address (host and port None for the protocols
    other than tcp and tls); refused in one line when malformed."""
    from distributed.comm import registry
    from distributed.comm.addressing import parse_address, parse_host_port

    def refuse(why: str):
        raise InputError(f"--scheduler {scheduler!r} is not a Dask scheduler address: {why}; {_ADDRESS_FORM}.")

    if not isinstance(scheduler, str) or not scheduler.strip():
        refuse("it is empty")
    if scheduler != scheduler.strip() or any(not char.isprintable() or char.isspace() for char in scheduler):
        refuse("it holds spaces or control characters")
    scheme, location = parse_address(scheduler)
    try:
        registry.get_backend(scheme)
    except ValueError:
        refuse(f"unknown protocol {scheme + '://'!r}; Dask's are {', '.join(f'{n}://' for n in registry.backends)}")
    if scheme not in ("tcp", "tls"):
        return scheme, None, None
    try:
        host, port = parse_host_port(location)
        port = int(port)
    except ValueError as exc:
        refuse(plain_line(exc).rstrip("."))
    if not host:
        refuse("no host before the port")
    if not 0 < port < 65536:
        refuse(f"port {port} is not between 1 and 65535")
    return scheme, host, port


def _probe_scheduler(scheduler: str, host: str, port: int) -> None:
    """Refuse an address where something other than a Dask scheduler answers.

    A Dask scheduler greets every new connection first, with a small framed handshake (an
    8-byte little-endian length, the frames, then msgpack with ``pickle-protocol``). Dask's own
    client would read any other server's first bytes as that length (an HTTP server's
    ``b"HTTP/1.1"`` asks for 3.5 EiB), so the greeting is read here, within ``seconds``, and
    nothing is sent. An address nothing listens on is left to Dask's client (it retries for
    :data:`SCHEDULER_TIMEOUT` seconds, as a scheduler may be starting).

    Raises
    ------
    InputError
        Something answered, but not as a Dask scheduler, within :data:`SCHEDULER_PROBE_SECONDS`.
    """
    import socket
    import struct
    import time

    seconds = SCHEDULER_PROBE_SECONDS
    deadline = time.monotonic() + seconds
    try:
        connection = socket.create_connection((host, port), timeout=seconds)
    except OSError:
        return
    received = b""

    def read(n: int) -> bytes:
        nonlocal received
        start = len(received)
        while len(received) - start < n:
            connection.settimeout(max(deadline - time.monotonic(), 0.001))
            chunk = connection.recv(n - (len(received) - start))
            if not chunk:
                raise EOFError
            received += chunk
        return received[start:]

    problem = None
    with connection:
        try:
            (size,) = struct.unpack("<Q", read(8))
            if not 16 <= size <= 1 << 20:
                problem = "its first bytes are not a Dask handshake"
            elif b"pickle-protocol" not in read(size):
                problem = "its first message is not a Dask handshake"
        except (TimeoutError, socket.timeout):
            problem = f"it sent nothing within {seconds:g} s, while a Dask scheduler greets at once"
        except EOFError:
            problem = "it closed the connection without a Dask handshake"
        except OSError as exc:
            problem = f"reading from it failed ({exc.strerror or plain_line(exc)})"
        if problem is not None and received:  # a little more of what it says, to show
            with contextlib.suppress(OSError):
                connection.settimeout(0.2)
                received += connection.recv(64)
    if problem is not None:
        shown = f" (it sent {received[:40]!r})" if received else ""
        raise InputError(f"--scheduler {scheduler!r}: something answers there, but not a Dask scheduler: {problem}"
                         f"{shown}. Check the address and port (a scheduler listens on 8786 by default; 8787 is "
                         "its dashboard), or leave out --scheduler to run on this machine.")


@contextlib.contextmanager
def client(scheduler: str | None):
    """Connect to a Dask scheduler for the study's duration (nothing when ``scheduler`` is None).

    The address is checked first (:func:`_scheduler_endpoint`), then, for ``tcp://``, probed
    for a Dask scheduler within :data:`SCHEDULER_PROBE_SECONDS` (:func:`_probe_scheduler`);
    one that cannot be reached within :data:`SCHEDULER_TIMEOUT` seconds is refused too, all
    before any training.

    Raises
    ------
    InputError
        Dask's distributed package is missing, or the address is malformed, answered by
        something else, or unreachable.
    """
    if scheduler is None:
        yield None
        return
    try:
        from distributed import Client
    except ImportError:
        raise InputError(
            "--scheduler needs Dask's distributed package, which is not installed. "
            'Install it with: pip install -e ".[dask]"'
        ) from None
    scheme, host, port = _scheduler_endpoint(scheduler)
    if scheme == "tcp":
        _probe_scheduler(scheduler, host, port)
    try:
        client = Client(scheduler, timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:  # distributed raises OSError on a timeout
        raise InputError(
            f"Cannot reach the Dask scheduler at {scheduler!r} within {SCHEDULER_TIMEOUT:.0f} s "
            f"({plain_line(exc)[:160]}). Start one with `dask scheduler` (and workers with "
            "`dask worker ADDRESS`), check the address, or leave out --scheduler to run on this machine."
        ) from None
    with client:
        yield client


def dask_backend():
    from joblib import parallel_config

    return parallel_config(backend="dask")


