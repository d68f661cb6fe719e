"""The ``ns`` command line (Typer). Thin: parse options, build a Plan, print or run it.

Each command lives in its own module (``skills/cli/<command>.py``); shared options are declared once
in ``skills/cli/options.py``. Only Typer/click are imported at start-up (``ns --help`` must be
instant); planners, Hydra, OmegaConf and executors are imported inside the commands. Option names
keep the reference's underscores (``--output_dir``) and also accept dashes (``--output-dir``).
Commands that launch a program take ``++key=value`` / ``+key=value`` / ``~key`` extra arguments;
unlike the reference, an unknown ``--option`` is an error with a suggestion instead of being
forwarded silently.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional, Sequence

import click
import typer

from skills.cli.common import EXTRA, overrides_help, print_error
from skills.cli.eval import eval_cmd
from skills.cli.evaluate import evaluate
from skills.cli.generate import generate_cmd
from skills.cli.prepare_data import prepare_data
from skills.cli.report import compare_cmd, report
from skills.cli.robust_eval import robust_eval_cmd
from skills.cli.run_cmd import run_cmd
from skills.cli.start_sandbox import start_sandbox
from skills.cli.start_server import start_server
from skills.cli.status import status
from skills.cli.summarize import summarize_results
from skills.cli.summarize_robustness import summarize_robustness
from skills.config.errors import UsageError

# Plain click help: with rich installed Typer escapes "[default: x]" as "\\[default: x]" even when
# rich formatting is off, and the help text shows the backslash.
typer.core.HAS_RICH = False

app = typer.Typer(
    name="ns", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    rich_markup_mode=None, help="Evaluate LLMs: prepare_data, eval, generate, summarize_results, ...",
)

app.command("eval", context_settings=EXTRA, epilog=overrides_help("eval"))(eval_cmd)
app.command("generate", context_settings=EXTRA, epilog=overrides_help("generate"))(generate_cmd)
app.command("robust_eval", context_settings=EXTRA, epilog=overrides_help("eval"))(robust_eval_cmd)
app.command("run_cmd", context_settings=EXTRA)(run_cmd)
app.command("prepare_data", context_settings=EXTRA)(prepare_data)
app.command("summarize_results")(summarize_results)
app.command("summarize_robustness")(summarize_robustness)
app.command("start_server")(start_server)
app.command("start_sandbox")(start_sandbox)
app.command("evaluate", context_settings=EXTRA)(evaluate)
app.command("status")(status)
app.command("report")(report)
app.command("compare")(compare_cmd)


def _version(value: bool) -> None:
    if value:
        from skills import __version__

        typer.echo(f"skills {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Evaluate LLMs: prepare_data, eval, generate, summarize_results, ..."""


# ----------------------------------------------------------------------------- entry point
def _dedupe(message: str) -> str:
    """One line; click and Typer may both append the same 'Did you mean' sentence."""
    parts: List[str] = []
    import re

    for part in re.split(r"(?<=[.?!])\s+", message.replace("\n", " ")):
        if part.strip() and part.strip() not in parts:
            parts.append(part.strip())
    return " ".join(parts)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Console entry point: user errors -> one line on stderr and exit code 2, never a traceback."""
    command = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = command.main(args=args, prog_name="ns", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        sys.stdout.write(exc.ctx.get_help() + "\n") if exc.ctx else None
        return 0
    except click.UsageError as exc:
        hint = f" (see ns {exc.ctx.command.name} --help)" if exc.ctx and exc.ctx.command.name != "ns" else ""
        print_error(_dedupe(exc.format_message()) + hint)
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        print_error("aborted")
        return 130
    except click.ClickException as exc:
        print_error(exc.format_message())
        return exc.exit_code
    except UsageError as exc:
        print_error(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        print_error("interrupted")
        return 130
    except (OSError, UnicodeError, ValueError) as exc:
        # unreadable/unwritable paths, undecodable files, bad values deep in a library: one line
        # naming the problem; SKILLS_DEBUG=1 shows the traceback for bug reports
        if os.environ.get("SKILLS_DEBUG"):
            raise
        print_error(f"{_describe(exc)} (SKILLS_DEBUG=1 shows the traceback)")
        return 2
    return rv if isinstance(rv, int) else 0


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or type(exc).__name__}: {exc.filename}"
    if isinstance(exc, UnicodeDecodeError):
        return f"a file is not valid UTF-8 text ({exc.reason} at byte {exc.start})"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


if __name__ == "__main__":
    sys.exit(main())
