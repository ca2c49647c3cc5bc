"""`spaceport sample-flight`'s GPS error options: the generator's error models on the CLI.

The generator is imported only when the command runs (it costs the CLI most of a second)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import TYPE_CHECKING

from .pipeline.errors import InputError

if TYPE_CHECKING:
    from .pipeline.synthetic.gps_errors import GpsErrors

# option dest -> GpsErrors field
FIELDS = {"gps_sigma": "horizontal_sigma_m", "gps_correlation": "horizontal_correlation_s",
          "alt_sigma": "altitude_sigma_m", "alt_drift": "altitude_drift_m_per_min",
          "alt_offset": "altitude_offset_m", "gps_outliers": "outlier_fraction",
          "gps_outlier_m": "outlier_m", "gps_missing": "missing_fraction"}


def add_gps_error_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that set what the flight's EXIF GPS says (the photos show the true poses)."""
    g = parser.add_argument_group("GPS errors", "what the EXIF GPS reports; a preset, then "
                                  "any field changed on top of it")
    g.add_argument("--gps", default="exact", metavar="{exact,consumer,rtk}",
                   help="exact (default); consumer: 4 m wandering horizontal noise, altitude "
                        "+25 m off and drifting 3 m/min, 2%% outliers, no RelativeAltitude; "
                        "rtk: centimetre accuracy with DJI RTK tags")
    g.add_argument("--gps-sigma", type=float, metavar="M", help="horizontal noise, 1 sigma")
    g.add_argument("--gps-correlation", type=float, metavar="S",
                   help="time constant of the horizontal noise's wander (0: white)")
    g.add_argument("--alt-sigma", type=float, metavar="M", help="altitude noise, 1 sigma")
    g.add_argument("--alt-drift", type=float, metavar="M_PER_MIN", help="altitude drift")
    g.add_argument("--alt-offset", type=float, metavar="M", help="altitude offset")
    g.add_argument("--gps-outliers", type=float, metavar="FRACTION",
                   help="share of images whose position jumps off")
    g.add_argument("--gps-outlier-m", type=float, metavar="M", help="size of those jumps")
    g.add_argument("--gps-missing", type=float, metavar="FRACTION",
                   help="share of images written without GPS")
    g.add_argument("--no-relative-altitude", action="store_true",
                   help="leave DJI RelativeAltitude out of the XMP")
    g.add_argument("--rtk", action="store_true", help="RTK-fixed GPS with DJI RTK tags")


def gps_errors_from_args(args: argparse.Namespace) -> GpsErrors:
    """The error model the options describe."""
    from .pipeline.synthetic.gps_errors import PRESETS

    if args.gps not in PRESETS:
        raise InputError(f"Unknown GPS preset {args.gps!r}",
                         hint=f"use one of: {', '.join(sorted(PRESETS))}")
    changes: dict[str, object] = {field: getattr(args, dest) for dest, field in FIELDS.items()
                                  if getattr(args, dest) is not None}
    if args.no_relative_altitude:
        changes["relative_altitude"] = False
    if args.rtk:
        changes["rtk"] = True
    return replace(PRESETS[args.gps], **changes)
