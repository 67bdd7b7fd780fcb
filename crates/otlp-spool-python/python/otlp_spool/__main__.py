"""``python -m otlp_spool serve ...``: the ``otlp-spool`` binary's command line, in process.

The flags, configuration precedence, logs and exit codes are the binary's (the native module
calls the same Rust entry point). SIGINT and SIGTERM are handed back to their defaults first,
so the service's own handlers (drain, finalize, exit 0) decide, as in the binary.
"""

from __future__ import annotations

import signal
import sys

from otlp_spool._native import run_cli


def main(argv: list[str] | None = None) -> int:
    """Runs the command line (``argv`` defaults to ``sys.argv[1:]``); returns its exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    return run_cli(["otlp-spool", *args])


if __name__ == "__main__":
    sys.exit(main())
