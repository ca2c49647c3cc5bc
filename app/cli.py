"""`spaceport`: the headless front end. With no arguments it opens the GUI."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from .cli_cloud import approve_on_terminal, cloud_command
from .cli_stop import stop_on_signals
from .console import ConsolePrinter, JsonLinesPrinter, action_words
from .sample_flight_args import add_gps_error_arguments, gps_errors_from_args
from .pipeline.errors import Cancelled, SpaceportError
from .pipeline.events import EventBus, JsonlSink, StageFailed, StageFinished
from .pipeline.project import Project
from .pipeline.settings import Settings
from .pipeline.stage import CancelToken

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130
EXPORT_CANCELLED = "export cancelled; the destination was left as it was"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `spaceport` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv) if argv else argparse.Namespace(
        func=_gui, project=None, nice=0)
    if args.nice:
        lower_priority(args.nice)
    # pycolmap's import installs glog's crash handler over SIGTERM; imported first, before any
    # command sets its own, a later lazy import cannot turn a clean stop into a crash
    import pycolmap  # noqa: F401
    try:
        return int(args.func(args) or 0)
    except SpaceportError as exc:
        then = action_words(exc.action)
        print(f"error: {exc.render()}" + (f"\n  next: {then}" if then else ""), file=sys.stderr)
        return EXIT_USAGE


def lower_priority(steps: int) -> None:
    """Lower this process's CPU priority by `steps` nice levels, every thread of it (POSIX)."""
    if not hasattr(os, "setpriority"):
        return
    target = min(19, os.getpriority(os.PRIO_PROCESS, 0) + steps)
    # hand-written: Linux's nice is per thread, and numpy's BLAS threads already run by now
    tasks = Path("/proc/self/task")
    for tid in [int(t) for t in os.listdir(tasks)] if tasks.is_dir() else [0]:
        try:
            os.setpriority(os.PRIO_PROCESS, tid, target)
        except ProcessLookupError:
            pass  # a thread that ended meanwhile


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="spaceport", description=__doc__)
    parser.add_argument("--nice", type=int, default=0, metavar="N",
                        help="run at a CPU priority N lower (the window starts its runs so, to "
                             "stay responsive while they work)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("gui", help="open the desktop application")
    p.add_argument("project", nargs="?", type=Path)
    p.set_defaults(func=_gui)

    p = sub.add_parser("demo", help="generate the sample flight and process it")
    p.add_argument("--dir", type=Path, default=Path("spaceport-demo"), help="where to put it")
    p.add_argument("--images", type=int, default=24)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--until", help="last stage to run")
    _add_run_flags(p)
    p.set_defaults(func=_demo)

    p = sub.add_parser("sample-flight", help="render a synthetic drone flight (JPEG + EXIF GPS)")
    p.add_argument("dir", type=Path)
    p.add_argument("--images", type=int, default=24)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--width", type=int, default=1024)
    p.add_argument("--height", type=int, default=768)
    add_gps_error_arguments(p)
    p.set_defaults(func=_sample_flight)

    p = sub.add_parser("ingest", help="read a flight folder's image headers and validate it")
    p.add_argument("flight", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, help="project folder")
    _add_run_flags(p)
    p.set_defaults(func=_ingest)

    p = sub.add_parser("process", help="run the pipeline on a flight (resumes where it stopped)")
    p.add_argument("flight", type=Path, nargs="?", help="flight folder (optional when resuming)")
    p.add_argument("-o", "--output", type=Path, required=True, help="project folder")
    p.add_argument("--until", help="last stage to run")
    p.add_argument("--from", dest="from_stage", help="rerun from this stage on")
    p.add_argument("--sfm-backend", choices=["pycolmap", "opensfm"])
    p.add_argument("--sfm-from", type=Path, help="import this COLMAP model instead of running SfM")
    p.add_argument("--train-on", choices=["auto", "local", "cloud"])
    _add_run_flags(p)
    p.set_defaults(func=_process)

    p = sub.add_parser("cloud", help="follow, cancel or resume a project's SageMaker jobs")
    p.add_argument("action", choices=["status", "cancel", "resume"],
                   help="status: ask AWS and list the jobs; cancel: stop the running jobs (names "
                        "them and asks, or --yes); resume: follow the jobs again and finish the pipeline")
    p.add_argument("project", type=Path)
    _add_run_flags(p)
    p.set_defaults(func=lambda args: cloud_command(args, run_pipeline))

    p = sub.add_parser("export", help="export a project's splats (SOG, PLY, .splat, .spz, ...)")
    p.add_argument("project", type=Path)
    p.add_argument("--format", required=True,
                   choices=["sog", "ply", "splat", "spz", "compressed-ply"])
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="destination file (.sog, .ply, .splat, .spz, .compressed.ply; "
                        "a folder or meta.json for unbundled SOG)")
    p.add_argument("--sh-degree", type=int, choices=[0, 1, 2, 3])
    p.add_argument("--crop", metavar="XMIN,YMIN,ZMIN,XMAX,YMAX,ZMAX",
                   help="keep splats inside this box (metres, splat frame)")
    p.add_argument("--filter-floaters", action="store_true",
                   help="drop invisible splats and isolated outliers")
    p.add_argument("--json", action="store_true",
                   help="print events as JSON lines; the last is StageFinished with the quality "
                        "report as its outputs, or StageFailed")
    p.set_defaults(func=_export)

    from .cli_render import add_parser as add_render_parser

    add_render_parser(sub)

    p = sub.add_parser("hardware", help="list CUDA GPUs and where training would run")
    p.add_argument("project", type=Path, nargs="?", help="use this project's settings")
    p.add_argument("--train-on", choices=["auto", "local", "cloud"])
    p.add_argument("--json", action="store_true", help="print the GPUs as JSON (the window reads it)")
    p.set_defaults(func=_hardware)

    p = sub.add_parser("status", help="show the state of each stage of a project")
    p.add_argument("project", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_status)
    return parser


def _add_run_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="change a setting, e.g. --set train.preset=standard")
    p.add_argument("--json", action="store_true", help="print events as JSON lines on stdout")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("--yes", action="store_true",
                   help="approve cloud costs (and stops) without asking; needed when not on a terminal")


# -- commands ----------------------------------------------------------------------------------
def _gui(args: argparse.Namespace) -> int:
    from .ui.app import run_gui

    return run_gui(getattr(args, "project", None))


def _sample_flight(args: argparse.Namespace) -> int:
    from .pipeline.synthetic import generate_flight

    summary = generate_flight(args.dir, n_images=args.images, seed=args.seed,
                              width=args.width, height=args.height,
                              gps_errors=gps_errors_from_args(args))
    print(f"sample flight: {summary['images']} images in {args.dir} "
          f"({summary['width']}x{summary['height']}, seed {args.seed})")
    return EXIT_OK


def _ingest(args: argparse.Namespace) -> int:
    import json

    from .pipeline.ingest.report import render_text
    from .pipeline.project import ProjectPaths

    code = run_pipeline(args.flight, args.output, args, until="ingest")
    report = ProjectPaths(args.output).ingest_report
    if not args.json and report.exists():
        print(render_text(json.loads(report.read_text(encoding="utf-8"))))
    return code


def _process(args: argparse.Namespace) -> int:
    overrides = []
    if args.sfm_backend:
        overrides.append(f"sfm.backend={args.sfm_backend}")
    if args.sfm_from:
        overrides.append(f"sfm.import_from={args.sfm_from.absolute()}")
    if args.train_on:
        overrides.append(f"train.where={args.train_on}")
    args.set = overrides + args.set
    return run_pipeline(args.flight, args.output, args, until=args.until, from_stage=args.from_stage)


def _demo(args: argparse.Namespace) -> int:
    from .pipeline.synthetic import generate_flight

    flight = args.dir / "flight"
    if not (flight / "ground_truth.json").exists():
        print(f"generating the sample flight in {flight} ...", file=sys.stderr)
        generate_flight(flight, n_images=args.images, seed=args.seed)
    code = run_pipeline(flight, args.dir / "project", args, until=args.until)
    if not args.json:
        print(f"\nsee it in the window: spaceport gui {args.dir / 'project'}", file=sys.stderr)
    return code


def _export(args: argparse.Namespace) -> int:
    """Export the project's trained splats. A read of finished outputs: it takes no lock, so it
    works while a window or a run holds the project. With --json every event is a JSON line on
    stdout and the last one says how it ended: StageFinished (its outputs are the quality
    report) or StageFailed (cancelled or the error)."""
    from .pipeline.compress.filters import parse_box
    from .pipeline.export import ExportOptions
    from .pipeline.project_export import export_project
    from .pipeline.stages import fetch_cloud_splats

    emit = JsonLinesPrinter() if args.json else ConsolePrinter()
    cancel = CancelToken()
    try:
        project = Project.open(args.project, create=False)
        options = ExportOptions(sh_degree=args.sh_degree,
                                crop=parse_box(args.crop) if args.crop else None,
                                filter_floaters=args.filter_floaters,
                                compress=project.settings.compress)
        with stop_on_signals(cancel, "the export"):
            report = export_project(project, args.format, args.output, options, emit=emit,
                                    cancel=cancel, fetch_splats=fetch_cloud_splats)
    except (Cancelled, KeyboardInterrupt):
        if args.json:
            emit(StageFailed(stage="export", reason=EXPORT_CANCELLED, cancelled=True))
        else:
            print(EXPORT_CANCELLED, file=sys.stderr)
        return EXIT_CANCELLED
    except SpaceportError as exc:  # main() prints it on stderr too
        if args.json:
            emit(StageFailed(stage="export", reason=exc.message, hint=exc.hint, action=exc.action))
        raise
    if args.json:
        emit(StageFinished(stage="export", outputs=report))
        return EXIT_OK
    err = report["errors"]
    print(f"{report['output']}: {report['splats']['written']} splats, {report['bytes']} bytes "
          f"({report['ratio_to_ply']}x smaller than the PLY); position error mean "
          f"{err['position_mm']['mean']:.2f} mm, rotation {err['rotation_deg']['mean']:.2f} deg")
    render = report.get("render") or {}
    if "psnr_vs_uncompressed_db" in render:
        photos = render["psnr_vs_photos_db"]
        print(f"render PSNR {render['psnr_vs_uncompressed_db']['mean']:.2f} dB against the "
              f"uncompressed splats on {render['views']} held-out view(s) at "
              f"{render['resolution']}; against the photos {photos['uncompressed']:.2f} -> "
              f"{photos['compressed']:.2f} dB")
    elif render:
        print(f"render PSNR not measured: {render['skipped']}")
    return EXIT_OK


def _hardware(args: argparse.Namespace) -> int:
    from .pipeline.hardware import cloud_configured, decide, detect_gpus
    from .pipeline.settings import Settings

    settings = Project.open(args.project, create=False).settings if args.project else Settings()
    gpus = detect_gpus()
    if args.json:
        import dataclasses
        import json

        print(json.dumps({"gpus": [dataclasses.asdict(gpu) for gpu in gpus]}))
        return EXIT_OK
    for gpu in gpus:
        print(f"cuda:{gpu.index}  {gpu.describe()}")
    if not gpus:
        print("no CUDA GPU visible to torch")
    decision = decide(args.train_on or settings.train.where, gpus, cloud_configured(settings.cloud))
    where = decision.device if decision.where == "local" else "SageMaker"
    print(f"training would run {decision.where} ({where}): {decision.reason}")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    import json

    from .pipeline.runner import Runner
    from .pipeline.stages import default_stages

    project = Project.open(args.project, create=False)
    stages = default_stages()
    if _try_lock(project):
        Runner(project, stages, emit=lambda e: None).refresh_states()
    if args.json:
        print(json.dumps({s.name: vars(project.record(s.name)) for s in stages}, indent=2))
        return EXIT_OK
    print(f"project {project.root}\nsource  {project.source}")
    holder = project.lock_holder()
    if holder:
        print(f"open in process {holder.get('pid')} on {holder.get('host')} (a run or a window): "
              "the states below are as it last saved them")
    for line in _stage_lines(project, stages):
        print(line)
    for warning in filter(None, (s.input_warning(project) for s in stages)):
        print(f"warning: {warning}")
    return EXIT_OK


def _try_lock(project: Project) -> bool:
    try:
        project.lock()
    except SpaceportError:
        return False
    project.unlock()
    return True


# -- shared mechanism --------------------------------------------------------------------------
def run_pipeline(flight: Path | None, output: Path, args: argparse.Namespace,
                 until: str | None = None, from_stage: str | None = None,
                 extra_sinks: Sequence[Callable] = ()) -> int:
    """Open (or create) the project, run its stages with console output, print a summary."""
    _quiet_native_logs(getattr(args, "verbose", False))
    from .pipeline.runner import Runner
    from .pipeline.stages import default_stages

    if flight is not None and not flight.is_dir():
        raise SpaceportError(f"Flight folder {flight} does not exist or is not a folder",
                             hint="pass the folder that holds the drone images", path=flight)
    overrides = [_setting(item) for item in args.set]
    for key, value in overrides:  # a mistyped setting is refused before any folder is made
        Settings().set(key, value)
    project = Project.open(output, source=flight)
    if project.source is None:
        raise SpaceportError(f"Project {output} has no flight folder yet",
                             hint="pass the flight folder: spaceport process FLIGHT_DIR -o PROJECT")
    for key, value in overrides:
        project.settings.set(key, value)
    printer = JsonLinesPrinter() if args.json else ConsolePrinter(verbose=args.verbose)
    cancel = CancelToken()
    with project:
        project.save()
        log = JsonlSink(project.paths.events)
        bus = EventBus(log, printer, *extra_sinks)
        runner = Runner(project, default_stages(), emit=bus, cancel=cancel,
                        approve_cost=approve_on_terminal(getattr(args, "yes", False)))
        try:
            with stop_on_signals(cancel):
                ok = runner.run(until=until, from_stage=from_stage)
        except KeyboardInterrupt:
            cancel.cancel()
            ok = False
        finally:
            log.close()
        if not args.json:
            _print_summary(project, runner)
    if cancel.cancelled:
        return EXIT_CANCELLED
    return EXIT_OK if ok else EXIT_FAILED


def _setting(item: str) -> tuple[str, str]:
    """('section.key', 'value') from a --set argument."""
    key, sep, value = item.partition("=")
    if not sep:
        raise SpaceportError(f"--set expects SECTION.KEY=VALUE, got {item!r}",
                             hint="e.g. --set train.max_steps=3000")
    return key.strip(), value.strip()


def _quiet_native_logs(verbose: bool) -> None:
    """COLMAP's glog lines drown the progress bars: keep only its errors unless -v."""
    level = "0" if verbose else "2"
    os.environ["GLOG_minloglevel"] = level
    if "pycolmap" in sys.modules:
        sys.modules["pycolmap"].logging.minloglevel = int(level)


def _print_summary(project: Project, runner) -> None:
    print(f"\nproject {project.root}", file=sys.stderr)
    for line in _stage_lines(project, runner.stages):
        print(line, file=sys.stderr)


def _stage_lines(project: Project, stages: Sequence) -> list[str]:
    """One line per stage: its state and result (done) or reason, then what to do next."""
    lines = []
    for stage in stages:
        rec = project.record(stage.name)
        detail = stage.summary(rec.outputs) if rec.state == "done" else rec.reason
        lines.append(f"  {stage.name:10s} {rec.state:10s} {detail}".rstrip())
        then = action_words(rec.action) if rec.state in ("failed", "cancelled") else ""
        if then:
            lines.append(f"  {'':10s} {'':10s} next: {then}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
