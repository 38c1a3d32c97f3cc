"""Check the project at both ends of its dependency bounds, each in its own virtual environment.

``low``: every dependency of pyproject.toml at its lowest supported version (its ``>=`` bound,
installed with ``==``); ``newest``: the newest releases the bounds allow. In each environment
the project is installed (``pip install -e .`` with pytest), then the quick study runs
(``python -m study.run --quick``) and a fast subset of the tests, the ones that exercise every
private-API path of ``backends/_compat.py`` (:data:`TESTS`). One summary line per environment:
pass or fail, seconds, the versions installed.

Usage (from anywhere; the environments take a few minutes and ~2 GB each to create)::

    python tools/check_versions.py                      # both ends, new environments
    python tools/check_versions.py --ends low --reuse   # the low end again, environment kept

Exit status: 0 when every environment passed, 1 when one failed (its log is named), 2 for a
usage error.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TESTS = [
    "tests/test_compat.py",  # each private-API function on the installed versions, and its fallback
    "tests/test_backends.py",  # the Keras wrappers' overrides of scikeras, seeding and the validation pass
]
"""The fast test subset run in each environment."""

TEST_SELECTION = ("seeding or validation_pass or keras_estimators_are_classifiers or keras_regressor_tags "
                  "or pooled_models or early_stopping or one_pass")
"""``pytest -k`` expression selecting tests of tests/test_backends.py: seeding (TensorFlow's private
seed), the validation pass (Keras' private evaluation logs), the scikeras overrides (tags, pooled
models, early stopping, one-pass training); every test of tests/test_compat.py runs too."""

SHOWN = ("scikit-learn", "tensorflow", "keras", "scikeras", "numpy", "scipy", "pandas", "matplotlib", "seaborn",
         "joblib", "statsmodels", "scikit-posthocs", "filelock")
"""Distributions whose versions the summary line shows."""


@dataclass
class Outcome:
    """One environment's result: the ``end`` checked, whether it ``passed``, the seconds of its
    study and tests, the installed versions, and the log of the step that failed (or None)."""

    end: str
    passed: bool
    seconds: dict
    versions: dict
    failed_log: Path | None = None
    tests: str = ""

    def line(self) -> str:
        """The summary line: ``low: PASS (install 95 s, study 71 s, tests 98 s: 26 passed) python 3.11.7
        scikit-learn 1.8.0 ...``."""
        times = ", ".join(f"{step} {value:.0f} s" for step, value in self.seconds.items())
        versions = " ".join(f"{name} {self.versions.get(name, '?')}" for name in ("python", *SHOWN))
        status = "PASS" if self.passed else f"FAIL (see {self.failed_log})"
        return f"{self.end}: {status} ({times}{': ' + self.tests if self.tests else ''}) {versions}"


def dependencies(pyproject: Path = ROOT / "pyproject.toml") -> list:
    """pyproject.toml's ``[project] dependencies`` as written (``"keras>=3.2,<4"``, ...).

    Raises
    ------
    SystemExit
        If the file cannot be read or has no ``[project] dependencies``.
    """
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        return list(project["dependencies"])
    except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
        raise SystemExit(f"error: cannot read [project] dependencies from {pyproject} ({exc}); "
                         "run the script from a checkout of the project.") from None


def lowest_pins(requirements: list) -> list:
    """Each requirement with a ``>=`` bound pinned to it: ``"keras>=3.2,<4"`` -> ``"keras==3.2"``.

    Raises
    ------
    SystemExit
        If a requirement has no ``>=`` bound (no lowest version to install).
    """
    pins = []
    for requirement in requirements:
        name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        lowest = re.search(r">=\s*([^,;\s]+)", requirement)
        if not (name and lowest):
            raise SystemExit(f"error: dependency {requirement!r} of pyproject.toml has no '>=' lower bound; "
                             "give every dependency one (e.g. 'name>=1.2') so that the low end is defined.")
        pins.append(f"{name.group(1)}=={lowest.group(1)}")
    return pins


def _run(command: list, log: Path, cwd: Path, timeout: float) -> tuple:
    """Run ``command``, its output appended to ``log``: ``(succeeded, seconds)``."""
    start = time.perf_counter()
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(map(str, command))}\n")
        out.flush()
        try:
            code = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            out.write(f"timed out after {timeout:.0f} s\n")
            code = -1
    return code == 0, time.perf_counter() - start


def _venv(folder: Path, python: str, reuse: bool, log: Path) -> Path:
    executable = folder / "bin" / "python"
    if reuse and executable.exists():
        return executable
    if folder.exists():
        shutil.rmtree(folder)
    ok, _ = _run([python, "-m", "venv", str(folder)], log, ROOT, 300)
    if not ok:
        raise SystemExit(f"error: could not create a virtual environment in {folder} with {python}; see {log}.")
    return executable


def _installed_versions(python: Path, log: Path) -> dict:
    code = ("import importlib.metadata as m, platform, json; names = %r\n"
            "v = {}\nfor n in names:\n    try: v[n] = m.version(n)\n    except m.PackageNotFoundError: v[n] = None\n"
            "v['python'] = platform.python_version(); print(json.dumps(v))") % (list(SHOWN),)
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        log.open("a").write(proc.stderr)
        return {}
    import json

    return json.loads(proc.stdout.strip().splitlines()[-1])


def _test_command(python: Path) -> list:
    return [str(python), "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", "-q", "-x",
            "-k", f"test_compat or {TEST_SELECTION}", *TESTS]


def check(end: str, folder: Path, python: str, reuse: bool) -> Outcome:
    """Create (or reuse) the environment of ``end`` ("low" or "newest") in ``folder``, install the
    project, run the quick study and the test subset.

    Returns
    -------
    Outcome
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    log = folder.parent / f"{folder.name}.log"
    log.write_text(f"{end} environment in {folder}\n", encoding="utf-8")
    executable = _venv(folder, python, reuse, log)
    pins = lowest_pins(dependencies()) if end == "low" else []
    upgrade = ["--upgrade", "--upgrade-strategy", "eager"] if end == "newest" else []
    install = [str(executable), "-m", "pip", "install", "-q", *upgrade, "-e", str(ROOT), "pytest", "pytest-xdist",
               *pins]
    ok, seconds = _run(install, log, ROOT, 3600)
    timings = {"install": seconds}
    if not ok:
        return Outcome(end, False, timings, _installed_versions(executable, log), log)
    versions = _installed_versions(executable, log)
    with tempfile.TemporaryDirectory(prefix=f"check-{end}-") as work:
        ok, timings["study"] = _run([str(executable), "-m", "study.run", "--quick", "--out", str(Path(work) / "report")],
                                    log, Path(work), 1800)
    if not ok:
        return Outcome(end, False, timings, versions, log)
    ok, timings["tests"] = _run(_test_command(executable), log, ROOT, 1800)
    counts = re.findall(r"(\d+ (?:passed|failed|errors?|skipped))", log.read_text(encoding="utf-8").splitlines()[-1])
    return Outcome(end, ok, timings, versions, None if ok else log, ", ".join(counts))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python tools/check_versions.py",
        description="Install the project with its lowest supported and its newest dependencies, each in its own "
                    "virtual environment, and run the quick study and the tests of every private-API path there; "
                    "print one summary line per environment.")
    parser.add_argument("--ends", nargs="+", choices=("low", "newest"), default=["low", "newest"],
                        help="which ends to check (default: both)")
    parser.add_argument("--venv-dir", type=Path, default=Path(tempfile.gettempdir()) / "study-versions",
                        help="folder of the environments, venv-low/ and venv-newest/, and their logs "
                             "(default: %(default)s)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse an environment already in --venv-dir (its packages are installed again "
                             "over it) instead of creating it anew")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter that creates the environments (default: this one, %(default)s)")
    args = parser.parse_args(argv)
    if shutil.which(args.python) is None and not Path(args.python).exists():
        parser.error(f"--python {args.python!r} is not an interpreter found on PATH or as a file; "
                     "give e.g. --python python3.11.")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    outcomes = []
    for end in args.ends:
        outcome = check(end, args.venv_dir / f"venv-{end}", args.python, args.reuse)
        outcomes.append(outcome)
        print(outcome.line(), flush=True)
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
