"""The documentation's notebook example run in a Jupyter kernel, as a user's notebook runs it.

The block after ``<!-- notebook example -->`` (in docs/outputs.md; found in README.md or docs/*.md by
``tests.doc_pages``) is split into cells on its ``# %%``
lines and executed by nbclient in a kernel of this Python (the study with its defaults: worker
processes started from the kernel, the cache in the notebook's folder). The saved notebook must
stay small and quiet: the progress is one output updated in place (no "IProgress not found"
warning, not one stream output per refresh), no warning or traceback anywhere, a short
``repr(result)``. An extra cell runs a study that warns in every fit and fails: one line per
distinct warning. At shutdown the workers end before the kernel, which then has no child process
to wait for.
"""

import json
import os
import re
import sys
import warnings
from pathlib import Path

import pytest

from tests.doc_pages import notebook_block

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
psutil = pytest.importorskip("psutil")

SHUTDOWN_WAIT = 30.0
"""The kernel manager's ``shutdown_wait_time`` here (Jupyter's default is 5 s: SIGTERM after half
of it, SIGKILL after all of it): long enough that the kernel always ends by itself, so the test
sees what the kernel does at shutdown however loaded the machine is."""

PROBE = """import json, os, sys, psutil
print(json.dumps({"kernel": os.getpid(), "executable": sys.executable,
                  "children": [p.pid for p in psutil.Process().children(recursive=True)]}))"""
"""An extra cell: the kernel's process, its Python and the processes it started (the workers)."""

NOISY = """from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC
from backends.custom import sklearn_model
noisy = sklearn_model("noisy", LogisticRegression(max_iter=1), grid={"C": [1.0]})  # warns in every fit
broken = sklearn_model("broken", SVC(kernel="nope"), grid={"C": [1.0]})            # fails
noisy_result = run_study(StudySpec(datasets=("wine",), models=(noisy, broken), quick=True))"""
"""An extra cell, after the example's: a study whose fits warn (the same ConvergenceWarning in each
fit, re-raised from the workers) and whose second model fails."""


def readme_cells() -> list:
    """The code cells of the notebook example: the ```python block after ``<!-- notebook example -->``
    (:func:`tests.doc_pages.notebook_block`), split on its ``# %%`` lines (the percent format of
    Jupytext and VS Code)."""
    block = notebook_block()
    return [cell.strip() for cell in re.split(r"^# %%.*$", block, flags=re.M) if cell.strip()]


def output_text(output) -> str:
    """Everything an output shows as text: stream text, text/plain and text/html, an error's traceback."""
    parts = [output.get("text", ""), output.get("ename", ""), output.get("evalue", ""), *output.get("traceback", [])]
    data = output.get("data", {})
    return "\n".join(parts + [data.get("text/plain", ""), data.get("text/html", "")])


def test_readme_cells_are_read():
    cells = readme_cells()
    assert len(cells) >= 2 and any("run_study(" in cell for cell in cells), cells
    assert cells[-1].splitlines()[-1].split("#")[0].strip() == "result"  # the result displays itself


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook example's cells, then ``print(repr(result))``, :data:`NOISY` and :data:`PROBE`, run in a python3 kernel
    in a fresh folder; returns (notebook, saved path, probe, the kernel's own standard error at
    debug level: Jupyter's log, not the notebook's)."""
    folder = tmp_path_factory.mktemp("notebook")
    cells = readme_cells() + ["print(repr(result))", NOISY, PROBE]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for cell in cells])
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}}, extra_arguments=["--debug"])
    client.reset_execution_trackers()
    client.km = client.create_kernel_manager()
    client.km.shutdown_wait_time = SHUTDOWN_WAIT
    log = folder / "kernel.log"
    with log.open("w") as stderr, client.setup_kernel(stderr=stderr):
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        probe = json.loads(nb.cells[-1].outputs[0]["text"])
        processes = [psutil.Process(pid) for pid in [probe["kernel"], *probe["children"]]]
    # leaving setup_kernel shuts the kernel down
    gone, alive = psutil.wait_procs(processes, timeout=10)
    probe["alive"] = [p.pid for p in alive]
    for process in alive:  # do not leave them running after a failed test
        process.kill()
    path = folder / "example.ipynb"
    nbformat.write(nb, path)
    return nb, path, probe, log.read_text()


def test_notebook_runs_in_a_kernel_of_this_python(executed):
    nb, _, probe, *_ = executed
    assert Path(probe["executable"]).resolve() == Path(sys.executable).resolve(), probe["executable"]
    if (os.cpu_count() or 1) > 1:  # n_jobs=-1: the study ran on worker processes started by the kernel
        assert probe["children"], "no worker process was started"


def test_notebook_output_has_no_warning_or_traceback(executed):
    nb = executed[0]
    for index, cell in enumerate(nb.cells):
        for output in cell.outputs if cell.source != NOISY else ():
            assert output["output_type"] != "error", (index, output_text(output))
            text = output_text(output)
            assert "warn" not in text.lower() and "Traceback" not in text, (index, text[:2000])


def test_progress_is_one_output_updated_in_place(executed):
    nb = executed[0]
    cell = next(c for c in nb.cells if "run_study(" in c.source)
    assert len(cell.outputs) == 1, [output_text(o)[:200] for o in cell.outputs]
    line = cell.outputs[0]["data"]["text/plain"]
    done = re.fullmatch(r"study: 100%\|\S+\| \[[\d:]+, (\d+) fits\]", line)
    assert done and int(done.group(1)) > 0, line  # the last update


def test_result_displays_its_table_and_figure_and_a_short_repr(executed):
    nb = executed[0]
    shown = nb.cells[len(readme_cells()) - 1].outputs  # the example's last cell: `result`
    html = shown[0]["data"]["text/html"]
    assert "<h3>wine</h3>" in html and "keras_dense" in html and "data:image/png;base64," in html
    printed = next(c for c in nb.cells if c.source == "print(repr(result))").outputs[0]["text"]
    assert printed.startswith("StudyResult(") and "failed units: 0" in printed, printed
    assert len(printed.encode()) < 2000, len(printed.encode())


def test_saved_notebook_is_small(executed):
    path = executed[1]
    assert path.stat().st_size < 200_000, path.stat().st_size


_UNCAUGHT = re.compile(r"ERROR:tornado\.general:Uncaught exception in ZMQStream callback\n"
                       r"Traceback \(most recent call last\):\n(?:[ \t].*\n)+"
                       r"zmq\.error\.ZMQError: Socket operation on non-socket\n")


def without_ipykernels_shutdown_race(log: str) -> str:
    """The kernel's log without ipykernel's own race at shutdown (seen once in 2026-12 with ipykernel
    7.4.0, the newest): after the shutdown request's handler, its control thread flushes
    ``sys.stdout`` (``Kernel.process_control``) while the kernel application closes the IOPub
    thread, and tornado logs the flush's ``ZMQError`` (ENOTSOCK); ipykernel PR #1518 catches the
    same race where the "idle" status is sent. Only such a traceback whose every frame is in
    ipykernel, pyzmq or tornado is left out: one through any other code stays."""
    def upstream(match):
        files = re.findall(r'File "([^"]+)"', match.group(0))
        ours = [f for f in files if not re.search(r"/(ipykernel|zmq|tornado)/|^zmq/", f)]
        return "" if files and not ours else match.group(0)

    return _UNCAUGHT.sub(upstream, log)


def test_ipykernels_shutdown_race_alone_is_left_out_of_the_log():
    frames = ('  File "/v/site-packages/ipykernel/kernelbase.py", line 406, in process_control\n'
              '    sys.stdout.flush()\n  File "zmq/backend/cython/_zmq.py", line 190, in _check_rc\n')
    race = ("ERROR:tornado.general:Uncaught exception in ZMQStream callback\nTraceback (most recent call last):\n"
            f"{frames}zmq.error.ZMQError: Socket operation on non-socket\n")
    ours = race.replace("in process_control\n", 'in process_control\n  File "/repo/study/progress.py", line 9, in end\n')
    assert without_ipykernels_shutdown_race(f"[IPKernelApp] a\n{race}[IPKernelApp] b\n") == "[IPKernelApp] a\n[IPKernelApp] b\n"
    assert "Traceback" in without_ipykernels_shutdown_race(ours)


def test_kernel_and_workers_end_at_shutdown(executed):
    """The workers and loky's resource trackers end in order before the kernel
    (``study.progress.end_workers_with_kernel``), so ipykernel finds no child process to signal
    and wait for at its shutdown; nothing is left running, and no "leaked semlock objects".

    A kernel that waited for children ignoring SIGTERM (loky's resource trackers) would log
    ipykernel's SIGTERM sequence (0.01 + 0.03 + ... + 10 s = 14.4 s) before its SIGKILL: the log is
    checked, not the seconds, which depend on the machine's load (11 s once in CI with no SIGTERM)."""
    _, _, probe, log = executed
    assert not probe["alive"], f"still running after the kernel's shutdown: {probe['alive']}"
    assert "Kernel has no children." in log and "SIGTERM" not in log, log[-3000:]
    assert "leaked" not in log and "Traceback" not in without_ipykernels_shutdown_race(log), log[-3000:]


def test_warnings_in_a_notebook_are_one_line_each_and_shown_once(executed):
    """Python's format, once per fit (each several lines with a file path), becomes one line per
    distinct warning on standard error, below the one progress output; the failure is kept."""
    outputs = next(c for c in executed[0].cells if c.source == NOISY).outputs
    assert outputs[0]["output_type"] == "display_data" and outputs[0]["data"]["text/plain"].startswith("study: 100%")
    assert all(o["output_type"] == "stream" and o["name"] == "stderr" for o in outputs[1:]), outputs
    lines = sorted("".join(o["text"] for o in outputs[1:]).splitlines())  # in the order the work finished
    assert len(lines) == 2, lines
    assert lines[0].startswith("ConvergenceWarning: lbfgs failed to converge"), lines
    assert lines[1].startswith("RuntimeWarning: wine / broken failed: InvalidParameterError: "), lines


def test_warnings_outside_a_notebook_are_left_alone():
    from study.progress import in_notebook, notebook_warnings

    assert not in_notebook()
    before = warnings.showwarning
    with notebook_warnings():
        assert warnings.showwarning is before


def test_notebook_warnings_one_line_once_and_errors_still_raise(monkeypatch, capsys):
    """In-process, the kernel's check made true: the format, the once-only rule, the filters kept."""
    import study.progress

    monkeypatch.setattr(study.progress, "in_notebook", lambda: True)
    before = warnings.showwarning
    with warnings.catch_warnings(), study.progress.notebook_warnings():
        warnings.simplefilter("always")
        for _ in range(3):
            warnings.warn("lbfgs failed to converge\n\nIncrease max_iter", RuntimeWarning)
        warnings.warn("another", UserWarning)
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="an error"):
            warnings.warn("an error", UserWarning)
    assert warnings.showwarning is before
    assert capsys.readouterr().err.splitlines() == ["RuntimeWarning: lbfgs failed to converge Increase max_iter",
                                                    "UserWarning: another"]
