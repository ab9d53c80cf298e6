"""Stopping `adfc train` cleanly: Ctrl-C, SIGTERM and SIGHUP, and the command that resumes.

Takes the parsed `adfc train` options and a run folder; gives
`stop_signals`, a context manager under which SIGTERM (sent by `timeout`,
`docker stop`, CI cancel) and SIGHUP (a closed terminal) are handled exactly
like Ctrl-C: they are turned into SIGINT, which asyncio answers by
cancelling the running training, so the last checkpoint and a report are
kept; `exit_status` (128 + the signal's number: 130, 143, 129); and
`resume_command`, the one `adfc train` line that continues a run with the
same options (the models, data and settings the run was started with, since
`--resume` refuses a checkpoint made with other ones).
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
from collections.abc import Iterator
from types import FrameType

_FORWARDED = (signal.SIGTERM, signal.SIGHUP)
_DROPPED = {"resume", "out", "force", "dry_run", "file"}  # set again by `resume_command`


class StopSignal:
    """Which signal stopped the run (SIGINT unless SIGTERM or SIGHUP arrived)."""

    def __init__(self) -> None:
        self.number = signal.SIGINT

    @property
    def name(self) -> str:
        return signal.Signals(self.number).name


@contextlib.contextmanager
def stop_signals() -> Iterator[StopSignal]:
    """Handle SIGTERM and SIGHUP like Ctrl-C inside the block; restore the old handlers."""
    seen = StopSignal()

    def forward(number: int, frame: FrameType | None) -> None:
        seen.number = signal.Signals(number)
        signal.raise_signal(signal.SIGINT)

    previous = {}
    for number in _FORWARDED:
        with contextlib.suppress(ValueError, OSError):  # not the main thread: leave it be
            previous[number] = signal.signal(number, forward)
    try:
        yield seen
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def exit_status(seen: StopSignal) -> int:
    return 128 + int(seen.number)


def resume_command(args: argparse.Namespace, run_dir: str, *, force: bool = False) -> str:
    """`adfc train FILE ... --resume --out RUN`, repeating the options the run was started with."""
    from adf.cli.train import configure

    parser = argparse.ArgumentParser(add_help=False)
    configure(parser)
    words = ["adfc", "train", str(args.file)]
    for action in parser._actions:
        if not action.option_strings or action.dest in _DROPPED:
            continue
        value = getattr(args, action.dest, action.default)
        if value == action.default:
            continue
        flag = action.option_strings[-1] if action.option_strings[-1].startswith("--") \
            else action.option_strings[0]
        if isinstance(action, argparse._StoreTrueAction):
            words.append(flag)
        elif isinstance(value, list):
            for item in value:
                words += [flag, str(item)]
        else:
            words += [flag, str(value)]
    words += ["--resume", "--out", run_dir]
    if force:
        words.append("--force")
    return shlex.join(words)
