"""The same units on a Dask cluster (process workers on loopback) give the local table; a --scheduler
address that is malformed, or where something else answers, is refused in one line before training."""

import contextlib
import socket
import threading
import time

import pytest

from study.orchestrator import run_study
from study.spec import StudySpec

distributed = pytest.importorskip("distributed")


def test_dask_cluster_gives_the_same_table_as_a_local_run():
    spec = dict(datasets=("wine",), models=("logistic_regression", "random_forest"), cv=3, quick=True,
                cache_dir=None, diagnostics=False)
    local = run_study(StudySpec(**spec, n_jobs=1), progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        remote = run_study(StudySpec(**spec, n_jobs=2, scheduler=cluster.scheduler_address), progress=False)
        ran_on_cluster = {name for name in cluster.scheduler.task_prefixes}
    assert ran_on_cluster, "no task reached the Dask scheduler"
    columns = [c for c in local.results.columns if c != "fit_time"]
    assert remote.results[columns].equals(local.results[columns])
    assert remote.predictions.equals(local.predictions)


QUICK = ["--quick", "--datasets", "wine", "--models", "ridge", "--no-diagnostics", "--no-cache"]


def _refused(capsys, tmp_path, address) -> str:
    """main() with ``--scheduler address``: status 2, one line, no traceback, nothing trained or written."""
    from study.run import main

    code = main([*QUICK, "--scheduler", address, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err and "fits" not in err, err
    assert not (tmp_path / "out").exists()
    return lines[0]


@pytest.mark.parametrize("address, why", [
    ("", "it is empty"),
    ("tcp://127.0.0.1", "missing port number in address '127.0.0.1'"),
    ("tcp://127.0.0.1:http", "invalid literal for int() with base 10: 'http'"),
    ("tcp://127.0.0.1:99999", "port 99999 is not between 1 and 65535"),
    ("tcp://:8786", "no host before the port"),
    ("http://127.0.0.1:8786", "unknown protocol 'http://'; Dask's are "),
    ("tcp://127.0.0.1:8786 ", "it holds spaces or control characters"),
])
def test_a_malformed_scheduler_address_is_refused_in_one_line(tmp_path, capsys, address, why):
    line = _refused(capsys, tmp_path, address)
    assert line.startswith(f"error: --scheduler {address!r} is not a Dask scheduler address: {why}"), line
    assert line.endswith("expected [tcp://]HOST:PORT, e.g. tcp://10.0.0.5:8786 (the address `dask scheduler` "
                         "prints)."), line


@contextlib.contextmanager
def _server(greeting: bytes | None):
    """A TCP server on loopback that is not a Dask scheduler: it sends ``greeting`` to every
    connection (None: it waits for the client to speak first, as an HTTP server does)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop, held = threading.Event(), []

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(connection)
            if greeting is not None:
                connection.sendall(greeting)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


@pytest.mark.parametrize("greeting, problem", [
    (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
     "its first bytes are not a Dask handshake (it sent b'HTTP/1.1 400 Bad Request\\r\\nContent-Length')"),
    (b"SSH-2.0-OpenSSH_9.6\r\n", "its first bytes are not a Dask handshake (it sent b'SSH-2.0-OpenSSH_9.6\\r\\n')"),
    (b"\x20\x00\x00\x00\x00\x00\x00\x00" + b"\x00" * 32, "its first message is not a Dask handshake"),
    (b"\x01\x00", "it closed the connection without a Dask handshake"),
])
def test_a_server_that_is_not_a_dask_scheduler_is_refused_at_once(tmp_path, capsys, monkeypatch, greeting, problem):
    import study.scheduler

    monkeypatch.setattr(study.scheduler, "SCHEDULER_PROBE_SECONDS", 2.0)
    if greeting == b"\x01\x00":  # two bytes, then the server closes
        greeting = None
        server = _closing_server()
    else:
        server = _server(greeting)
    with server as address:
        start = time.monotonic()
        line = _refused(capsys, tmp_path, address)
    assert time.monotonic() - start < 10
    assert line.startswith(f"error: --scheduler {address!r}: something answers there, but not a Dask scheduler: "
                           f"{problem}"), line


@contextlib.contextmanager
def _closing_server():
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        connection, _ = listener.accept()
        connection.sendall(b"\x01\x00")
        connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        thread.join(timeout=10)
        listener.close()


def test_a_silent_server_is_refused_within_the_probe_time(tmp_path, capsys, monkeypatch):
    """An HTTP server waits for a request: Dask's client would send its handshake, read the reply's
    b"HTTP/1.1" as a frame length and try to allocate 3.5 EiB; the probe reads only, for a bounded time
    (1 s here: the test waits it out; 5 s in a study)."""
    import study.scheduler

    monkeypatch.setattr(study.scheduler, "SCHEDULER_PROBE_SECONDS", 1.0)

    with _server(None) as address:
        start = time.monotonic()
        line = _refused(capsys, tmp_path, address)
        took = time.monotonic() - start
    assert line.startswith(f"error: --scheduler {address!r}: something answers there, but not a Dask scheduler: it "
                           f"sent nothing within {study.scheduler.SCHEDULER_PROBE_SECONDS:g} s, while a Dask scheduler "
                           "greets at once. Check the address and port"), line
    assert study.scheduler.SCHEDULER_PROBE_SECONDS <= took < study.scheduler.SCHEDULER_PROBE_SECONDS + 5
