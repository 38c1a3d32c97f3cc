"""Every command line of README.md and docs/*.md parses and validates, and every local link resolves.

The commands are the ``python -m study.run ...`` and ``python -m study.predict ...`` lines of the
pages' ```bash blocks (backslash continuations joined, ``# comments`` dropped, each command of a
``&&`` / ``||`` / ``;`` / ``|`` chain on its own). A ``study.run`` command goes through what
``study.run.main`` does before any training, in this process: the CLI's parser, the ``--config``
file if any, then ``StudySpec.validate``. A ``study.predict`` command goes through its parser
(the command checks nothing else before it reads the model folder).

Neither check reads a data file or a stored model, nor contacts a Dask scheduler or an MLflow
server, so the commands that name a file an earlier line of the docs creates (``digits.npz``,
``/tmp/q/models/...``) or a cluster address are checked like every other one: no exception list.
The examples themselves run in tests/test_examples.py, tests/test_notebook.py and tests/test_predict.py.
"""

from __future__ import annotations

import re
import shlex

import pytest

from tests.doc_pages import ROOT, code_blocks, doc_pages

PROGRAMS = ("python", "python3")
COMMANDS = ("study.run", "study.predict")
OPERATORS = {"&&", "||", ";", "|", "&", "(", ")"}
"""Shell tokens that end one simple command of a chain."""

_FENCED = re.compile(r"^```.*?^```", flags=re.S | re.M)
_LINK = re.compile(r"!?\[[^\]]*\]\(([^()\s]+)\)")
_EXTERNAL = ("http://", "https://", "mailto:")


def shell_lines(code: str) -> list:
    """The lines of a bash block with backslash continuations joined."""
    return code.replace("\\\n", " ").splitlines()


def simple_commands(line: str) -> list:
    """The simple commands of one shell line, each a list of words (quotes removed), ``# comments``
    and leading ``NAME=value`` assignments dropped."""
    lexer = shlex.shlex(line, posix=False, punctuation_chars=True)
    lexer.whitespace_split = True  # quoted words keep their quotes here: a quoted ';' is not an operator
    found, words = [], []
    for token in [*lexer, ";"]:
        if token in OPERATORS:
            while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", words[0]):
                words.pop(0)
            if words:
                found.append(words)
            words = []
        else:
            words.append(" ".join(shlex.split(token)))
    return found


def documented_commands() -> list:
    """Every documented ``python -m study.run|study.predict`` command.

    Returns
    -------
    list of tuple (str, str, list of str)
        Per command: its page's path relative to the repository, the module (``study.run`` or
        ``study.predict``) and its arguments.
    """
    found = []
    for page, code, _ in code_blocks("bash"):
        for line in shell_lines(code):
            for words in simple_commands(line):
                if len(words) >= 3 and words[0] in PROGRAMS and words[1] == "-m" and words[2] in COMMANDS:
                    found.append((str(page.relative_to(ROOT)), words[2], words[3:]))
    return found


def check_run(argv: list) -> None:
    """What ``python -m study.run`` does with ``argv`` before any training: parse, read ``--config``,
    apply the options, validate. ``--help`` prints the help and exits 0, as the command does.

    Raises
    ------
    ValueError
        An option or value the study refuses (as ``main`` reports it: exit status 2).
    SystemExit
        The parser's own errors (exit status 2), or ``--help`` (exit status 0).
    """
    from study.run import build_parser, spec_from_args

    args = build_parser().parse_args(argv)
    for option in ("mlflow", "mlflow_register"):  # main takes these out before the spec
        vars(args).pop(option, None)
    spec_from_args(args).validate()


def check_predict(argv: list) -> None:
    """What ``python -m study.predict`` does with ``argv`` before it reads the model: parse it.

    Raises
    ------
    SystemExit
        The parser's errors (exit status 2), or ``--help`` (exit status 0).
    """
    from study.predict import build_parser

    build_parser().parse_args(argv)


CHECKS = {"study.run": check_run, "study.predict": check_predict}


@pytest.mark.parametrize("page, module, argv", documented_commands(),
                         ids=[f"{number}-{page}: {module} {' '.join(argv)}".strip()
                              for number, (page, module, argv) in enumerate(documented_commands())])
def test_documented_command_parses_and_validates(page, module, argv, monkeypatch):
    monkeypatch.chdir(ROOT)  # the commands run from the repository root (--config examples/...)
    try:
        CHECKS[module](argv)
    except SystemExit as exc:
        assert exc.code == 0 and ("--help" in argv or "-h" in argv), f"{page}: {module} {argv} exited {exc.code}"


def test_commands_are_found_on_every_page_that_has_them():
    """The finder sees the README's three commands and the set-up line's, and the predict command."""
    found = documented_commands()
    readme = [argv for page, module, argv in found if page == "README.md" and module == "study.run"]
    assert [] in readme  # the set-up line's `... && python -m study.run` and the default study
    assert ["--data", "tests/data/customers.csv", "--target", "churned", "--out", "reports/churn"] in readme
    assert ["--config", "examples/custom_models.toml"] in readme
    assert ["--data", "sales.csv", "--target", "revenue", "--sep", ";"] in [argv for _, _, argv in found]
    assert any(module == "study.predict" for _, module, _ in found)
    assert {page for page, _, _ in found} >= {"README.md", "docs/command_line.md", "docs/your_data.md",
                                              "docs/your_models.md", "docs/outputs.md",
                                              "docs/caching_and_clusters.md"}


def test_simple_commands_split_chains_and_keep_quoted_operators():
    line = "A=1 python -m study.run --sep ';' && python -m study.predict --help | head  # note"
    assert simple_commands(line) == [["python", "-m", "study.run", "--sep", ";"],
                                     ["python", "-m", "study.predict", "--help"], ["head"]]
    assert [line.split() for line in shell_lines("python -m study.run \\\n  --quick\nls\n")] == [
        ["python", "-m", "study.run", "--quick"], ["ls"]]


@pytest.mark.parametrize("argv, refused", [
    (["--datasets", "nope"], ValueError),           # spec validation
    (["--cv", "1"], ValueError),
    (["--target", "y"], ValueError),                # --target without --data: spec_from_args
    (["--cv", "five"], SystemExit),                 # the parser
])
def test_the_check_refuses_what_the_command_refuses(argv, refused, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    with pytest.raises(refused):
        check_run(argv)


def heading_anchors(text: str) -> set:
    """GitHub's anchors of a Markdown page's headings (lower case, punctuation dropped, spaces to
    hyphens), code blocks left out."""
    headings = re.findall(r"^#{1,6} +(.+?) *$", _FENCED.sub("", text), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def local_links() -> list:
    """Every link and image of the pages that is not a web address, outside code blocks.

    Returns
    -------
    list of tuple (pathlib.Path, str)
        Per link: its page and its target as written.
    """
    found = []
    for page in doc_pages():
        text = _FENCED.sub("", page.read_text(encoding="utf-8"))
        found += [(page, target) for target in _LINK.findall(text) if not target.startswith(_EXTERNAL)]
    return found


def test_every_local_link_resolves():
    broken = []
    for page, target in local_links():
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in heading_anchors(resolved.read_text(encoding="utf-8")):
            broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, broken
    assert len(local_links()) >= 20  # the README's links to every docs/ page, the docs' links back


def test_heading_anchors_follow_github():
    assert heading_anchors("## Tuned models, predictions, the HTML report\n```\n# not a heading\n```\n") == {
        "tuned-models-predictions-the-html-report"}


def test_readme_is_a_front_door_linking_every_docs_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    first_block = code_blocks("bash")[0]
    assert first_block[0].name == "README.md" and "pip install -e ." in first_block[1]  # the set-up first
    linked = {target for page, target in local_links() if page.name == "README.md"}
    assert {f"docs/{page.name}" for page in doc_pages()[1:]} <= linked
