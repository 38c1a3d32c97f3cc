"""The command line's folders: checked before training, one study per folder, a report that is the
old one or the new one whatever happens (a kill, a second study), and a report when every unit fails."""

import contextlib
import ctypes
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from study import folder_swap, folders
from study.report import figures
from study.results import read_results
from study.run import main
from tests.test_cli import ROOT

STUDY = ["--quick", "--datasets", "wine", "--models", "ridge", "logistic_regression", "--n-jobs", "1"]
SLOW = """\
import os, sys, time
import study.report as report
from study import folder_swap
delay, swap = float(sys.argv[1]), sys.argv[2]
write = report.atomic_write_text

gate = os.environ.get("GATE")

def slow_write(path, text):
    print("writing", path.name, flush=True)
    while gate and not os.path.exists(gate):
        time.sleep(0.01)
    time.sleep(delay)
    write(path, text)

report.atomic_write_text = slow_write
if swap != "exchange":
    folder_swap._exchange = lambda first, second: False
    rename, rename_delay = os.rename, float(swap.partition(":")[2] or delay)

    def slow_rename(source, target):
        rename(source, target)
        time.sleep(rename_delay)

    os.rename = slow_rename
from study.run import main
sys.exit(main(sys.argv[3:]))
"""
"""A study whose report files take ``delay`` seconds each to write (it prints "writing <name>"
first, then waits for the file $GATE if set); ``swap``: "exchange", or "fallback[:seconds]" (no
exchange: each rename then takes ``seconds``, default ``delay``)."""


def _cli(capsys, *argv) -> tuple:
    """``python -m study.run ARGV`` in this process: (exit status, stderr)."""
    capsys.readouterr()
    try:
        code = main([str(arg) for arg in argv])
    except SystemExit as exc:  # argparse's own errors end the parser, as they end the process
        code = exc.code
    return code, capsys.readouterr().err


def _slow_study(delay: float, swap: str, *args, gate: Path | None = None) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **({"GATE": str(gate)} if gate else {})}
    return subprocess.Popen([sys.executable, "-c", SLOW, str(delay), swap, *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _writing(proc: subprocess.Popen) -> None:
    """Wait until a :func:`_slow_study` starts writing its report."""
    line = proc.stdout.readline()
    assert line.startswith("writing "), (line, proc.stderr.read()[-2000:] if proc.poll() is not None else "")


def _contents(out: Path) -> dict:
    """Every file of a report folder: its bytes, or a figure's content key (pixels may differ by antialiasing)."""
    def content(path):
        if path.suffix != ".png":
            return path.read_bytes()
        with Image.open(path) as image:
            return image.info[figures.FIGURE_KEY]
    return {str(p.relative_to(out)): content(p) for p in sorted(out.rglob("*")) if p.is_file()}


def _leftovers(out: Path) -> list:
    return sorted(p.name for p in out.parent.glob(f".{out.name}.*-*"))


def _wait_for(condition, timeout=300):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """A cache holding the study for seeds 0 and 1, and the contents of their two reports (run in
    this process; the reports stay in ``<cache>/../<seed>``)."""
    base = tmp_path_factory.mktemp("references")
    contents = {}
    for seed in ("0", "1"):
        assert main([*STUDY, "--seed", seed, "--out", str(base / seed), "--cache-dir", str(base / "cache")]) == 0
        contents[seed] = _contents(base / seed)
    assert contents["0"]["report.md"] != contents["1"]["report.md"]
    return base / "cache", contents


def _old_report(cache: Path, seed: str, out: Path) -> None:
    """A copy of the reference report of ``seed`` (from :func:`reports`) as the previous report in ``out``."""
    shutil.copytree(cache.parent / seed, out)


# A process: it is killed (SIGKILL) while it writes its report.
@pytest.mark.parametrize("mode", ["exchange", "fallback"])
def test_a_study_killed_while_it_writes_its_report_leaves_the_old_or_the_new_report(tmp_path, capsys, reports, mode):
    if mode == "exchange" and folder_swap._renameat2() is None:
        pytest.skip("renameat2 is Linux (glibc >= 2.28) only")
    cache, contents = reports
    out = tmp_path / "out"
    _old_report(cache, "0", out)
    current, killed_midway = "0", 0
    for files in (2, 10, 18):  # killed as it starts its files-th file (of 21; the 18 tables come first)
        other = "1" if current == "0" else "0"
        proc = _slow_study(0.1, mode, *STUDY, "--seed", other, "--out", out, "--cache-dir", cache)
        _writing(proc)
        for _ in range(files - 1):
            proc.stdout.readline()  # "writing <name>", or "" once it has ended
        killed_midway += proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not out.exists():  # killed between the two renames (without the exchange only)
            assert mode == "fallback"
            folders.recover(out)  # what the next study does first
            assert _contents(out) == contents[other]
        state = _contents(out)
        assert state in (contents[current], contents[other]), f"a mixed report after a kill at file {files}"
        current = "0" if state == contents["0"] else "1"
    assert killed_midway >= 3
    code, err = _cli(capsys, *STUDY, "--seed", "1", "--out", out, "--cache-dir", cache)
    assert code == 0, err[-3000:]
    assert _contents(out) == contents["1"] and _leftovers(out) == []


# A process: it is killed (SIGKILL) between its two renames.
def test_a_kill_between_the_two_renames_is_repaired_by_the_next_study(tmp_path, capsys, reports):
    cache, contents = reports
    out = tmp_path / "out"
    _old_report(cache, "0", out)
    proc = _slow_study(0.0, "fallback:5", *STUDY, "--seed", "1", "--out", out, "--cache-dir", cache)
    _wait_for(lambda: list(tmp_path.glob(".out.old-*")) or proc.poll() is not None)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists() and len(_leftovers(out)) == 2  # the old report set aside, the new one beside it
    code, err = _cli(capsys, *STUDY, "--seed", "0", "--out", out, "--cache-dir", cache)
    assert code == 0, err[-3000:]
    assert _contents(out) == contents["0"] and _leftovers(out) == []


def _cli_here(*argv) -> tuple:
    """``python -m study.run ARGV`` in this process, outside a test (a module's fixture): (exit status, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in argv])
    return code, err.getvalue()


@pytest.fixture(scope="module")
def two_studies(tmp_path_factory, reports):
    """Two studies (seeds 0 and 1) started together on one folder, each waiting for the file
    ``gate`` once it writes its report: one gets the folders and holds them, the other exits at
    once. While the first waits, two more studies run in this process: on its report folder, and
    on another folder with its cache. Then the gate opens. What was seen, as a dict."""
    cache, _ = reports
    base = tmp_path_factory.mktemp("two_studies")
    out, gate = base / "out", base / "gate"
    procs = {seed: _slow_study(0.2, "exchange", *STUDY, "--seed", seed, "--out", out, "--cache-dir", cache, gate=gate)
             for seed in ("0", "1")}
    try:
        first_lines = {seed: proc.stdout.readline() for seed, proc in procs.items()}  # "writing ...", or "" at exit
        writing = [seed for seed, line in first_lines.items() if line.startswith("writing ")]
        here = {"out": _cli_here(*STUDY, "--out", out, "--no-cache"),
                "cache": _cli_here(*STUDY, "--out", base / "other", "--cache-dir", cache)}
        running = {seed: proc.poll() is None for seed, proc in procs.items()}
    finally:
        gate.write_text("")
        codes = {seed: proc.wait(timeout=600) for seed, proc in procs.items()}
    return dict(out=out, cache=cache, base=base, first_lines=first_lines, writing=writing, here=here,
                running=running, codes=codes, stderr={seed: proc.stderr.read() for seed, proc in procs.items()},
                contents=_contents(out) if out.exists() else None, leftovers=_leftovers(out))


# A process (two, shared with the next test: two_studies): two studies hold (or wait for) the same locks at once.
def test_two_studies_started_together_on_one_folder_never_mix(two_studies, reports):
    _, contents = reports
    out, codes = two_studies["out"], two_studies["codes"]
    assert sorted(codes.values()) == [0, 2], two_studies["stderr"]
    winner, loser = sorted(codes, key=codes.get)
    stderr = two_studies["stderr"][loser]
    assert f"error: The report folder {out} is in use by another study" in stderr and "Traceback" not in stderr
    assert two_studies["contents"] == contents[winner] and two_studies["leftovers"] == []


# A process (shared: two_studies): the first study holds both folders' locks while this one runs two more.
def test_a_second_study_on_a_folder_in_use_exits_2_at_once(two_studies, reports):
    _, contents = reports
    out, cache, base = two_studies["out"], two_studies["cache"], two_studies["base"]
    assert len(two_studies["writing"]) == 1, two_studies["first_lines"]  # and waiting for the gate: it holds both
    (first,) = two_studies["writing"]
    code, err = two_studies["here"]["out"]
    assert code == 2 and "Traceback" not in err
    assert err == (f"error: The report folder {out} is in use by another study (it holds "
                   f"{base / '.out.lock'}); wait until it has finished, or choose another --out.\n")
    code, err = two_studies["here"]["cache"]
    assert code == 2 and "Traceback" not in err
    assert err == (f"error: The cache folder (--cache-dir) {cache} is in use by another study (it holds "
                            f"{cache / 'study.lock'}); wait until it has finished, or choose another --cache-dir, "
                            "or run with --no-cache.\n")
    assert two_studies["running"][first]
    assert two_studies["codes"][first] == 0, two_studies["stderr"][first][-2000:]
    assert two_studies["contents"] == contents[first] and not (base / "other").exists()


@pytest.mark.parametrize("args, message", [
    (["--out", ""], "error: argument --out: got an empty path, which would mean the current folder"),
    (["--cache-dir", ""], "error: argument --cache-dir: got an empty path, which would mean the current folder"),
    (["--out", "{tmp}/file"], "error: The report folder {tmp}/file is a file; expected a folder; choose another "
                              "output folder (--out)."),
    (["--out", "{tmp}/file/out"], "error: The report folder {tmp}/file/out cannot be created: {tmp}/file is a file, "
                                  "not a folder"),
    (["--out", "{tmp}"], "error: The report folder {tmp} holds 'file', which this tool does not write; it is "
                         "replaced as a whole, so it must be new, empty, or a previous report of this tool"),
    (["--cache-dir", "{tmp}/file"], "error: The cache folder (--cache-dir) {tmp}/file is a file; expected a folder; "
                                    "choose another --cache-dir, or run with --no-cache."),
    (["--out", "{tmp}/out", "--cache-dir", "{tmp}/out/cache"], "error: The cache folder (--cache-dir) "
     "{tmp}/out/cache is inside the report folder {tmp}/out, which every run replaces as a whole"),
])
def test_unusable_folders_exit_2_before_training(tmp_path, capsys, args, message):
    (tmp_path / "file").write_text("mine")
    code, err = _cli(capsys, *STUDY, *[a.format(tmp=tmp_path) for a in args])
    assert code == 2 and message.format(tmp=tmp_path) in err, err[-2000:]
    assert "Traceback" not in err and "fits" not in err  # refused before any work
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"] and (tmp_path / "file").read_text() == "mine"


def test_an_empty_out_in_a_config_file_is_refused(tmp_path, capsys):
    (tmp_path / "study.toml").write_text('out = ""\n')
    code, err = _cli(capsys, "--config", tmp_path / "study.toml")
    assert code == 2 and "Traceback" not in err
    assert f"error: {tmp_path / 'study.toml'}: out is empty, which would mean the current folder" in err


def _without_write_permission():
    """Runs in the child: as root, drop the capabilities that ignore permission bits."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "cannot drop root's permission override")


READ_ONLY_CASES = [
    (["--out", "{ro}/out", "--no-cache"], "error: The report folder {ro}/out cannot be written: creating a file in "
                                          "{ro} failed (Permission denied); choose another output folder (--out)."),
    (["--out", "{ro}/../out", "--cache-dir", "{ro}/cache"], "error: The cache folder (--cache-dir) {ro}/cache "
     "cannot be written: creating a file in {ro} failed (Permission denied); choose another --cache-dir"),
]
READ_ONLY_STUDIES = """\
import contextlib, io, json, sys
from study.run import main
runs = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    runs.append([code, err.getvalue()])
print(json.dumps(runs))
"""
"""``study.run.main`` on each argv of the JSON list ``sys.argv[1]``: ``[[exit status, stderr], ...]``."""


@pytest.fixture(scope="module")
def read_only_runs(tmp_path_factory):
    """The studies of :data:`READ_ONLY_CASES` in one child process without root's permission
    override, on a read-only folder ``{ro}``: ``(tmp, ro, {args: (exit status, stderr)}, the child's stderr)``."""
    tmp_path = tmp_path_factory.mktemp("read_only")
    read_only = tmp_path / "read_only"
    read_only.mkdir()
    read_only.chmod(0o555)
    argvs = [[*STUDY, *[a.format(ro=read_only) for a in args]] for args, _ in READ_ONLY_CASES]
    try:
        proc = subprocess.run([sys.executable, "-c", READ_ONLY_STUDIES, json.dumps(argvs)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120, preexec_fn=_without_write_permission)
    finally:
        read_only.chmod(0o755)
    runs = json.loads(proc.stdout) if proc.returncode == 0 else [(None, proc.stderr)] * len(READ_ONLY_CASES)
    return tmp_path, read_only, {tuple(args): run for (args, _), run in zip(READ_ONLY_CASES, runs)}, proc.stderr


# A process: dropping root's permission override cannot be undone, so it happens in a child (one, for both cases).
@pytest.mark.parametrize("args, message", READ_ONLY_CASES)
def test_read_only_folders_exit_2_before_training(read_only_runs, args, message):
    tmp_path, read_only, runs, stderr = read_only_runs
    if "cannot drop root's permission override" in stderr:
        pytest.skip("root without CAP_SETPCAP ignores permission bits")
    code, err = runs[tuple(args)]
    assert code == 2 and message.format(ro=read_only) in err, err[-2000:]
    assert "Traceback" not in err and "Traceback" not in stderr and not (tmp_path / "out").exists()


def test_a_study_where_every_unit_fails_writes_its_report_and_exits_1(tmp_path, capsys, monkeypatch, request,
                                                                      default_workers_lent):
    monkeypatch.setattr(sys, "path", list(sys.path))  # the study puts tmp_path on it and imports failing_models:
    request.addfinalizer(lambda: sys.modules.pop("failing_models", None))  # forgotten after, as by a process
    (tmp_path / "failing_models.py").write_text(
        "from sklearn.base import BaseEstimator, ClassifierMixin\n"
        "class Failing(ClassifierMixin, BaseEstimator):\n"
        "    def fit(self, X, y):\n        raise RuntimeError('cannot fit:\\n\\x1b[31m| red |\\x1b[0m')\n"
        "    def predict(self, X):\n        return X[:, 0]\n")
    (tmp_path / "study.toml").write_text(
        f'out = "{tmp_path / "out"}"\ncache_dir = "{tmp_path / "cache"}"\nquick = true\ncv = 3\n'
        'datasets = ["wine", "iris"]\nmodels = [{ name = "failing", sklearn = "failing_models:Failing" }]\n')
    code, err = _cli(capsys, "--config", tmp_path / "study.toml")  # a user's model: the default workers
    assert code == 1, err[-2000:]
    assert "2 unit(s) failed; see the report's 'Failures' section." in err and "Traceback" not in err
    results = read_results(tmp_path / "out" / "results.csv")
    failing = results[results["model"] == "failing"]  # the chance baseline alone succeeded
    assert failing["status"].tolist() == ["failed", "failed"] and set(results["model"]) == {"failing", "dummy"}
    assert failing["error"].tolist() == ["RuntimeError: cannot fit: | red |"] * 2
    report = (tmp_path / "out" / "report.md").read_text()
    for heading in ("## Protocol", "## wine", "## iris", "## Failures"):
        assert heading in report
    assert "## Statistical comparison" not in report and "\x1b" not in report
    assert "| failing | scikit-learn | FAILED: RuntimeError: cannot fit: \\| red \\| |" in report
    assert "- unit of failing on iris: RuntimeError: cannot fit: \\| red \\|\n" in report


def test_the_locks_are_released_on_every_exit_path(tmp_path, capsys):
    """main() refuses a bad option before touching the folders, and bad data after taking the
    locks; a study runs; both locks are free again. The probe opens each lock file anew: a lock
    (flock) is held by an open file, so a lock still held by this process refuses it too."""
    from filelock import FileLock, Timeout

    from study.run import main

    out, cache = tmp_path / "out", tmp_path / "cache"

    def held():
        found = ""
        for path in (tmp_path / ".out.lock", cache / "study.lock"):
            lock = FileLock(path)  # not the study's own (is_singleton) object: a file opened again
            try:
                lock.acquire(timeout=0)
            except Timeout:
                found += f"held {path}\n"
            else:
                lock.release()
        return found

    assert main(["--out", str(out), "--cache-dir", str(cache), "--datasets", "wine", "--models", "svm"]) == 2
    assert "Unknown model name(s) ['svm']" in capsys.readouterr().err
    assert not (tmp_path / ".out.lock").exists() and not cache.exists()  # refused before the folders
    missing = str(tmp_path / "missing.csv")
    assert main(["--out", str(out), "--cache-dir", str(cache), "--data", missing, "--target", "y"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert (tmp_path / ".out.lock").exists() and held() == ""
    assert main([*STUDY, "--out", str(out), "--cache-dir", str(cache)]) == 0
    assert (out / "report.md").exists() and held() == ""


def _one_line_exit_2(code, err: str) -> str:
    """The single line of a refusal before training (status 2, no traceback, no progress)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err and "fits" not in err, err
    return lines[0]


@pytest.mark.parametrize("args, message", [
    (["--data", "a.csv", "--data", "b.csv"], "error: --data given twice ('a.csv', then 'b.csv'); expected it once: "
     "the second would silently replace the first. Give it once (several files: one [[datasets]] table each "
     "(path, target) in a --config TOML file)."),
    (["--seed", "1", "--seed=2"], "error: --seed given twice ('1', then '2'); expected it once: the second would "
     "silently replace the first. Give it once (keep the one you mean)."),
    (["--metrics", "accuracy", "f1_macro", "--metrics", "roc_auc"], "error: --metrics given twice ('accuracy "
     "f1_macro', then 'roc_auc'); expected it once: the second would silently replace the first. Give it once (list "
     "every value after one --metrics)."),
    (["--nested", "--no-nested"], "error: --nested/--no-nested given twice, with opposite meanings (the last, "
     "--no-nested, would silently win); give it once."),
    (["--out", "x", "--ou", "y"], "error: --out given twice ('x', then 'y')"),  # an abbreviation is the same option
])
def test_an_option_given_twice_is_refused(tmp_path, capsys, monkeypatch, args, message):
    from study.run import main

    monkeypatch.chdir(tmp_path)
    line = _one_line_exit_2(main([*STUDY, *args]), capsys.readouterr().err)
    assert line.startswith(message), line
    assert list(tmp_path.iterdir()) == []


def test_the_same_flag_twice_is_accepted():
    from study.run import build_parser

    assert build_parser().parse_args(["--quick", "--quick", "--nested", "--nested"]).quick is True


def test_an_out_that_is_a_symlink_loop_is_refused_and_kept(tmp_path, capsys):
    from study.run import main

    (tmp_path / "loop").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop")
    for out in (tmp_path / "loop", tmp_path / "loop" / "report"):
        line = _one_line_exit_2(main([*STUDY, "--out", str(out), "--no-cache"]), capsys.readouterr().err)
        expected = f"error: The report folder {out} is, or passes through, a symbolic link that loops ("
        assert line.startswith(expected), line
        assert line.endswith("Too many levels of symbolic links); choose another output folder (--out), or remove "
                             "the link."), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop", "loop2"] and (tmp_path / "loop").is_symlink()


@pytest.mark.parametrize("target", ["victim", ".out.lock"])
def test_a_symlink_planted_at_the_lock_file_is_refused_and_not_followed(tmp_path, capsys, target):
    from study.run import main

    (tmp_path / "victim").write_text("precious")
    (tmp_path / ".out.lock").symlink_to(tmp_path / target)  # to another file, or to itself (ELOOP)
    line = _one_line_exit_2(main([*STUDY, "--out", str(tmp_path / "out"), "--no-cache"]), capsys.readouterr().err)
    assert line == (f"error: The lock file {tmp_path / '.out.lock'} is a symbolic link (to "
                    f"{str(tmp_path / target)!r}), which a lock file of this tool never is: something else put it "
                    "there, and it is not followed. Remove it (it holds nothing) and run again, or choose another "
                    "folder.")
    assert (tmp_path / "victim").read_text() == "precious" and not (tmp_path / "out").exists()


def test_a_full_disk_while_writing_the_report_exits_3_in_one_line_and_keeps_the_old_report(tmp_path, capsys,
                                                                                           monkeypatch):
    import errno

    import study.report
    import study.orchestrator
    from study.run import main
    from tests.test_report_folder import _result, _siblings, _snapshot

    out = tmp_path / "out"
    study.report.write_report(_result(), out)
    before = _snapshot(out)
    monkeypatch.setattr(study.orchestrator, "run_study", lambda spec, **kwargs: _result(("d1",)))  # no training needed here
    write = study.report.atomic_write_text

    def full_disk(path, text):
        if path.name == "report.html":  # the CSV files and study.json were written
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        write(path, text)

    monkeypatch.setattr(study.report, "atomic_write_text", full_disk)
    code = main([*STUDY, "--out", str(out), "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 3 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0] == (f"error: The report could not be written to {out}: writing failed: No space left on device "
                        "(errno 28). The previous report, if any, is left as it was. Free some space (or fix the "
                        "folder's permissions), then run the same command again: what was computed is stored in "
                        f"{tmp_path / 'cache'} and is not computed again.")
    assert _snapshot(out) == before and _siblings(out) == ["cache"]  # no staging folder left


def test_an_import_that_fails_inside_main_shows_as_itself(tmp_path, monkeypatch):
    from study.run import main

    monkeypatch.setitem(sys.modules, "study.folders", None)  # any later import fails so
    with pytest.raises(ImportError, match="study.folders"):
        main([*STUDY, "--out", str(tmp_path / "out"), "--no-cache"])


def test_a_cli_run_checks_locks_and_recovers_its_folders_once(tmp_path, capsys, monkeypatch):
    import study.folders
    import study.orchestrator
    from study.run import main
    from tests.test_report_folder import _result

    calls = []
    for name in ("check_out_folder", "check_contents", "recover", "holding"):
        real = getattr(study.folders, name)
        monkeypatch.setattr(study.folders, name, lambda *args, _real=real, _name=name, **kwargs:
                            calls.append(_name) or _real(*args, **kwargs))
    monkeypatch.setattr(study.orchestrator, "run_study", lambda spec, **kwargs: _result(("d1",)))  # no training needed here
    out = tmp_path / "out"
    assert main([*STUDY, "--out", str(out), "--cache-dir", str(tmp_path / "cache")]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out == f"wrote {out / 'report.md'}\n"
    # out's contents: checked, then checked again holding its lock; both folders locked; nothing opened again
    assert sorted(calls) == ["check_contents", "check_contents", "check_out_folder", "holding", "holding", "recover"]
