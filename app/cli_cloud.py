"""The CLI's cloud side: asking a terminal before money is spent, and `spaceport cloud ...`."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, TextIO

from .console import ConsolePrinter, JsonLinesPrinter
from .pipeline.project import Project

EXIT_OK, EXIT_USAGE = 0, 2


def confirm(question: str, yes: bool, stdin: TextIO | None = None, out: TextIO | None = None) -> bool:
    """True with --yes, or when a terminal answers yes; False when nobody can be asked."""
    stdin, out = stdin or sys.stdin, out or sys.stderr
    if yes:
        out.write(f"{question} yes (--yes)\n")
        return True
    if not stdin.isatty():
        out.write(f"{question}\n  not asked: standard input is not a terminal; pass --yes to approve\n")
        return False
    out.write(f"{question} [y/N] ")
    out.flush()
    return stdin.readline().strip().lower() in ("y", "yes")


def approve_on_terminal(yes: bool, stdin: TextIO | None = None,
                        out: TextIO | None = None) -> Callable[[Any], bool]:
    """The CLI's cost approval: print the estimate, then ask (or take --yes)."""
    def approve(estimate: Any) -> bool:
        stream = out or sys.stderr
        stream.write("\n".join(estimate.lines()) + "\n")
        return confirm("Start the cloud job(s) at this cost?", yes, stdin, stream)
    return approve


def cloud_command(args: argparse.Namespace, run_pipeline: Callable[..., int]) -> int:
    """`spaceport cloud status|cancel|resume PROJECT`."""
    from .pipeline.cloud.control import refresh_jobs

    if args.action == "resume":
        return run_pipeline(None, args.project, args)
    project = Project.open(args.project, create=False)
    for item in args.set:  # e.g. --set cloud.profile=NAME for this call only (not saved)
        key, _, value = item.partition("=")
        project.settings.set(key.strip(), value.strip())
    printer = JsonLinesPrinter() if args.json else ConsolePrinter(verbose=args.verbose)
    records = refresh_jobs(project, printer if args.json else (lambda event: None))
    if args.action == "cancel":
        return _cancel(project, [job for job in records if job.active], args.yes, printer)
    if args.json:
        return EXIT_OK
    if not records:
        print(f"project {project.root} has no cloud jobs")
    for job in records:
        reason = f"  {job.failure_reason}" if job.failure_reason else ""
        print(f"{job.kind:9s} {job.name:44s} {job.status:10s} {job.secondary_status}{reason}")
    return EXIT_OK


def _cancel(project: Project, running: list, yes: bool, printer: Callable) -> int:
    from .pipeline.cloud.control import stop_jobs

    if not running:
        print(f"project {project.root} has no running cloud jobs", file=sys.stderr)
        return EXIT_OK
    names = [job.name for job in running]
    listing = "".join(f"\n  {job.kind:9s} {job.name} ({job.status} {job.secondary_status})"
                      for job in running)
    question = (f"Stop {len(names)} running SageMaker job(s)?{listing}\nTheir work since the last "
                "checkpoint is lost; a later run starts a new attempt from the checkpoints.")
    if not confirm(question, yes):
        return EXIT_USAGE
    stopped = stop_jobs(project, printer, names)
    print(f"stop requested for {len(stopped)} job(s)" + "".join(f"\n  {n}" for n in stopped),
          file=sys.stderr)
    return EXIT_OK
