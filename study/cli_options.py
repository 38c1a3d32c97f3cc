"""What both commands' parsers share: every option at most once, and argparse's errors in one line.

``python -m study.run`` and ``python -m study.predict`` build their parsers with
:class:`OneLineParser` and register :func:`once_actions`: an option given twice raises
:class:`RepeatedOption` (the second value would silently replace the first), and a usage error
(an unknown option, a value of the wrong type, a required option left out) is one line on
stderr, ``error: ...``, with exit status 2, instead of argparse's usage block.
"""

from __future__ import annotations

import argparse
import sys

from study.text import plain_line

__all__ = ["RepeatedOption", "OneLineParser", "once_actions", "usage_error", "EXIT_USAGE"]

EXIT_USAGE = 2
"""Exit status of a usage or input error."""


def usage_error(exc: Exception) -> int:
    """Report a usage or input error as one line on stderr (``error: ...``); returns :data:`EXIT_USAGE`."""
    print(f"error: {plain_line(exc)}", file=sys.stderr)
    return EXIT_USAGE


class RepeatedOption(ValueError):
    """An option given twice on the command line (the second would silently replace the first)."""


class OneLineParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose usage errors are one line: what was wrong, and where the
    options are listed (``--help``); exit status :data:`EXIT_USAGE`.

    Attributes
    ----------
    repeat_hints : dict of str to str
        Per option's ``dest``: how to give several values instead of repeating it (used in the
        :class:`RepeatedOption` message).
    """

    repeat_hints: dict = {}

    def error(self, message: str):
        print(f"error: {plain_line(message)}; `{self.prog} --help` lists the options.", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _refuse_repeat(parser, action: argparse.Action, namespace: argparse.Namespace, option: str, value) -> None:
    """Raise :class:`RepeatedOption` when ``action``'s option was given before (the parser must
    leave options that were not given out of the namespace: ``argument_default=SUPPRESS``); the
    message's fix for an option with one value is ``parser.repeat_hints[dest]`` when it has one."""
    if not hasattr(namespace, action.dest):
        return
    before = getattr(namespace, action.dest)
    if action.nargs == 0 and before == value:
        return  # the same flag twice (--quick --quick): nothing is lost
    names = "/".join(action.option_strings)
    if action.nargs == 0:
        raise RepeatedOption(f"{names} given twice, with opposite meanings (the last, {option}, would silently win); "
                             "give it once.")

    def shown(value) -> str:
        return "no value" if value is None else " ".join(map(str, value)) if isinstance(value, list) else str(value)

    fix = (f"list every value after one {action.option_strings[0]}" if action.nargs in ("+", "*") else
           getattr(parser, "repeat_hints", {}).get(action.dest, "keep the one you mean"))
    raise RepeatedOption(f"{option} given twice ({shown(before)!r}, then {shown(value)!r}); expected it once: the "
                         f"second would silently replace the first. Give it once ({fix}).")


class _StoreOnce(argparse._StoreAction):
    def __call__(self, parser, namespace, values, option_string=None):
        _refuse_repeat(parser, self, namespace, option_string, values)
        super().__call__(parser, namespace, values, option_string)


class _StoreTrueOnce(argparse._StoreTrueAction):
    def __call__(self, parser, namespace, values, option_string=None):
        _refuse_repeat(parser, self, namespace, option_string, self.const)
        super().__call__(parser, namespace, values, option_string)


class BooleanOnce(argparse.BooleanOptionalAction):
    """``--x / --no-x``, refused when given twice with opposite meanings."""

    def __call__(self, parser, namespace, values, option_string=None):
        _refuse_repeat(parser, self, namespace, option_string, not option_string.startswith("--no-"))
        super().__call__(parser, namespace, values, option_string)


def once_actions(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make ``parser``'s store and store_true options refuse a second occurrence (its
    ``argument_default`` must be ``argparse.SUPPRESS``); returns the parser."""
    for name in (None, "store"):
        parser.register("action", name, _StoreOnce)
    parser.register("action", "store_true", _StoreTrueOnce)
    return parser
