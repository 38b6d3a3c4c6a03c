"""One error path for every ``lmmcl`` subcommand: a failure the user can fix ends with one paragraph on stderr
(the bad value, the file, the fix) and exit code 2; a traceback only with ``LMMCL_DEBUG=1``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import NoReturn

EXIT_CODE = 2


def debug() -> bool:
    return os.environ.get("LMMCL_DEBUG", "") not in ("", "0")


def paragraph(err: BaseException, prog: str = "lmmcl") -> str:
    """The error as one paragraph: its message with line breaks and repeated spaces folded."""
    text = " ".join(str(err).split()) or type(err).__name__
    from lmmcl.errors import LmmclError

    if type(err).__name__ == "ArgumentError":  # a command-line or config value the parser rejected
        return f"{text}. `{prog} --help` lists every option and its type."
    if isinstance(err, (LmmclError, OSError)) or any(cls.__name__ == "YAMLError" for cls in type(err).__mro__):
        return text
    return f"{type(err).__name__}: {text} (unexpected; rerun with LMMCL_DEBUG=1 for the traceback)"


def fail(prog: str, err: BaseException) -> NoReturn:
    """Print ``err`` as one paragraph for ``prog`` (``lmmcl fit``) and exit 2; re-raise under LMMCL_DEBUG=1."""
    if debug():
        raise err
    print(f"{prog}: error: {paragraph(err, prog)}", file=sys.stderr)
    raise SystemExit(EXIT_CODE) from None


def guarded(prog: str, fn: Callable[[], int | None]) -> int:
    """``fn()``'s exit code; any exception becomes :func:`fail`'s paragraph (SystemExit and Ctrl-C pass)."""
    try:
        return int(fn() or 0)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BrokenPipeError:  # the reader went away (`lmmcl samples RUN | head`): not the user's mistake
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 0
    except Exception as err:  # the one place every failure is turned into a message
        fail(prog, err)
