"""The gate's failure as the operator reads it: which check fired, its setting, and what the
ingest measurements (sharpness, exposure) say about the images concerned.

Front-end neutral (TEAM contract 4): settings are named plainly, never as command-line flags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import StageError
from .settings import SfmSettings
from .validate import Finding, GateResult, name_list

# what to do about each check, after "the check ... fired"
ADVICE = {
    "registration": "check that the flight folder holds one overlapping survey",
    "registered_ratio": "exclude or re-shoot the images named, or lower the setting if a "
                        "model without them is acceptable",
    "observations_per_image": "exclude the images named, or lower the setting",
    "points": "fly with more overlap or texture, or lower the setting",
    "reprojection_error": "check the camera (one lens and focal length for the whole flight), "
                          "or raise the setting",
    "gps_residual": "if the GPS is known to be poor, raise the setting or leave it empty so "
                    "that the GPS is judged by its assessed quality",
    "track_consistency": "this is a defect of the model's producer: re-run SfM or re-export "
                         "the imported model",
    "misplaced_images": "the images named sit far from where their GPS and the rest of the "
                        "model put them (repeated texture or wrong matches?): exclude them, or "
                        "raise the setting if their GPS is known to jump",
    "part_scale": "a part of the model does not fit the rest; exclude the images named where "
                  "it joins the rest or fly that part again, or raise the setting if the GPS "
                  "is known to be worse than the model shows",
}
for _check in ("part_heading", "part_position", "part_tilt"):
    ADVICE[_check] = ADVICE["part_scale"]
QUALITY_LIMIT = 6  # images whose ingest measurements are quoted


def gate_error(result: GateResult, settings: SfmSettings, images: dict[str, dict[str, Any]],
               image_quality: dict[str, dict[str, Any]], model_path: Path | None) -> StageError:
    """The StageError for a failed gate: every failure in the message, the hint as above."""
    message = "The SfM model failed validation: " + "; ".join(f.message for f in result.failures)
    hints = [_check_hint(f, settings) for f in result.failures]
    concerned = sorted({n for f in result.failures for n in f.images})
    evidence = _evidence(concerned, images, image_quality)
    setting = next((f.setting for f in result.failures if f.setting), None)
    return StageError(message, hint=" ".join(hints + evidence) + " (details per image in "
                      "sfm/stats.json)", path=model_path,
                      action=f"relax_setting:{setting}" if setting else "fix_input")


def _check_hint(finding: Finding, settings: SfmSettings) -> str:
    setting = ""
    if finding.setting:
        value = getattr(settings, finding.setting.split(".", 1)[1], None)
        setting = f" (setting {finding.setting}, now {value})"
    advice = ADVICE.get(finding.check, "see sfm/stats.json")
    return f"The check '{finding.check}' fired{setting}: {advice}."


def _evidence(names: list[str], images: dict[str, dict[str, Any]],
              quality: dict[str, dict[str, Any]]) -> list[str]:
    """Sentences tying the images concerned to why they failed and what ingest measured."""
    out = []
    by_reason: dict[str, list[str]] = {}
    for name in names:
        reason = (images.get(name) or {}).get("reason")
        if reason:
            by_reason.setdefault(reason, []).append(name)
    for reason, group in sorted(by_reason.items()):
        out.append(f"{reason.replace('_', ' ')}: {name_list(group, 5)}.")
    flagged = [(n, quality[n]) for n in names if quality.get(n, {}).get("flags")]
    if flagged:
        quoted = "; ".join(f"{n} {'/'.join(q['flags'])} (sharpness {q['sharpness']:.2g}, "
                           f"exposure {q['exposure_mean']:.2f})"
                           for n, q in flagged[:QUALITY_LIMIT])
        more = f" and {len(flagged) - QUALITY_LIMIT} more" if len(flagged) > QUALITY_LIMIT else ""
        out.append(f"Ingest flagged {len(flagged)} of them in ingest/report.json "
                   f"(image_quality): {quoted}{more}.")
    elif names and quality:
        out.append("Ingest measured no blur or exposure problem in them (ingest/report.json, "
                   "image_quality): look at overlap and texture instead.")
    return out
