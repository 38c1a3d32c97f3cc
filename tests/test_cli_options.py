"""Both commands' parsers (study.cli_options): a usage error is one line and exit 2, an option
given twice is refused; in-process, nothing is trained."""

import pytest

from study import predict, run


@pytest.mark.parametrize("main, argv, expected", [
    (run.main, ["--n-jobs", "x"], "error: argument --n-jobs: invalid int value: 'x'; `python -m study.run --help`"),
    (run.main, ["--bogus"], "error: unrecognized arguments: --bogus; `python -m study.run --help`"),
    (run.main, ["--cv-kind", "nope"], "error: argument --cv-kind: invalid choice: 'nope'"),
    (predict.main, ["--model", "m"], "error: the following arguments are required: --data; "
                                      "`python -m study.predict --help`"),
    (predict.main, ["--model", "m", "--data", "d.csv", "--model", "n"],
     "error: --model given twice ('m', then 'n'); expected it once"),
    (predict.main, ["--model", "m", "--data", "d.csv", "--out", "a.csv", "--out", "b.csv"],
     "error: --out given twice ('a.csv', then 'b.csv')"),
    (run.main, ["--data", "a.csv", "--data", "b.csv"], "in a --config TOML file)"),
])
def test_a_usage_error_is_one_line_and_exit_2(main, argv, expected, capsys):
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own errors end the parser with SystemExit
        status = exc.code
    captured = capsys.readouterr()
    assert status == 2
    assert expected in captured.err and captured.err.count("\n") == 1, captured.err
    assert "usage:" not in captured.err and captured.out == ""


def test_the_same_flag_twice_is_accepted():
    args = run.build_parser().parse_args(["--quick", "--quick", "--nested", "--nested"])
    assert args.quick is True and args.nested is True
