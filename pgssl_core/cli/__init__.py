"""Command-line interface: ``python -m pgssl_core <command> ...`` (installed: ``pgssl <command> ...``).

Each sub-command lives in its own module ``pgssl_core/cli/cmd_<name>.py`` that defines:

- ``NAME: str`` (the sub-command), ``HELP: str`` (one line),
- ``add_arguments(parser: argparse.ArgumentParser) -> None``,
- ``run(args: argparse.Namespace) -> int`` (the exit code).

Modules are discovered automatically, so adding a command never touches this file. When the
first argument names a command, only that command's module is imported (``inspect`` must not pay
for torch, which ``train`` imports). A
``PgsslError`` raised by a command is printed as ``error: <message>`` on stderr with exit code 2, and so are
a usage error (an unknown option, a value of the wrong kind: see ``arg_types``) and
an operating-system error about a named file (a folder that cannot be created, a file that cannot be written).
When the reader of stdout goes away (``... | head -1``) the command stops quietly with status 141, as a
Unix tool killed by SIGPIPE does.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from pgssl_core.errors import PgsslError, first_line

EXIT_USER_ERROR = 2
#: 128 + SIGPIPE (13): the status a shell shows for a tool whose output pipe was closed by its reader.
EXIT_BROKEN_PIPE = 141


def _command_modules(only: str | None = None) -> list:
    """The command modules; just ``cmd_<only>`` when that module exists."""
    package = importlib.import_module(__name__)
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("cmd_"))
    if only is not None and f"cmd_{only.replace('-', '_')}" in names:  # "import-xyz" lives in cmd_import_xyz
        names = [f"cmd_{only.replace('-', '_')}"]
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


def _prog() -> str:
    """How the user called us: the installed ``pgssl`` command or ``python -m pgssl_core``."""
    return "pgssl" if Path(sys.argv[0]).name == "pgssl" else "python -m pgssl_core"


class _Parser(argparse.ArgumentParser):
    """argparse's parser whose usage errors are one line, like every other error of the CLI:
    ``error: --tile-size: must be > 0, got 0 (see python -m pgssl_core inspect --help)``, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"error: {message.removeprefix('argument ')} (see {self.prog} --help)\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command module (or just the one named ``only``)."""
    parser = _Parser(prog=_prog(), description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _command_modules(only):
        cmd = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def _one_line_warnings(previous):  # noqa: ANN001, ANN202 - the signature is warnings.showwarning's
    """A ``warnings.showwarning`` that prints our own warnings (e.g. a tile used at native resolution) as one
    ``warning: ...`` line on stderr, without Python's file and source line, and hands every other warning to
    ``previous`` (so pytest's recording and other libraries' formats are untouched)."""
    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
        if category.__module__.startswith("pgssl_core"):
            print(f"warning: {message}", file=file or sys.stderr)
        else:
            previous(message, category, filename, lineno, file, line)
    return show


def _stdout_gone() -> int:
    """The reader of stdout closed the pipe: point stdout at the null device, so that Python's flush at exit
    does not fail again with a second traceback (the recipe of Python's ``signal`` docs), and return
    :data:`EXIT_BROKEN_PIPE`. SIGPIPE's default action is not restored instead: it would also kill the process
    on a socket closed by a tile service or another rank."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    previous = warnings.showwarning
    warnings.showwarning = _one_line_warnings(previous)
    try:
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # here, so that a closed pipe is seen while we can still handle it
        return code
    except PgsslError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:
        return _stdout_gone()
    except OSError as exc:
        if exc.filename is None:  # not about a file the user named: a fault of ours, keep its traceback
            raise
        print(f"error: {exc.filename}: {exc.strerror or first_line(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = previous
