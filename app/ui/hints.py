"""Hints in the window's words: what to press here, not which command to type.

A failed stage carries a machine-readable next step (`StageFailed.action`: "resume", "rerun",
"configure_cloud", "relax_setting:sfm.max_gps_residual_m", ...) and a hint. The window words the
action for itself and rewrites the command-line phrasing that hints written before `action`
existed still carry ("run the same command again", "--set a.b=c", "spaceport process ...").
"""

from __future__ import annotations

import re

ACTIONS = {  # app/pipeline/errors.py lists the actions
    "resume": "press Run to resume from where it stopped",
    "rerun": "press Run again (the failure may not repeat)",
    "create_project": "create it with New project from a flight folder",
    "wait": "wait for the other window or run to finish, or close it",
    "configure_cloud": "fill in the cloud section of the Settings tab, or choose This computer "
                       "under Where training runs",
    "approve_cost": "press Run and approve the cost estimate",
    "free_disk": "free disk space where the project lives",
    "report_bug": "this is a bug in Spaceport: the traceback is in the project's "
                  "logs/events.jsonl",
}  # fix_input, fix_project: the hint says what to fix

# command-line phrasing -> the window's (applied in order)
REWRITES: list[tuple[str, str]] = [
    (r"run the same command again( to resume)?", "press Run to resume"),
    (r"run the pipeline again", "press Run"),
    (r"create it with `?spaceport process[^`;,)]*`?", "create it with New project from a flight folder"),
    (r"rerun ingest: spaceport process[^;,)]*", "select ingest and press Rerun from"),
    (r"rerun training: spaceport process[^;,)]*", "select train and press Rerun from"),
    (r"run the (\w+) stage first[^;,]*", r"run the \1 stage first (Stop after: \1, then Run)"),
    (r"with --train-on (local|cloud|auto)", r"by choosing \1 under Where training runs"),
    (r"--train-on (local|cloud|auto)", r"choose \1 under Where training runs"),
    (r"use --sfm-backend (\w+) or --sfm-backend (\w+)", r"set sfm.backend to \1 or \2 in the Settings tab"),
    (r"(?:use |e\.g\. )?--set ([\w.]+)=([^\s,;)]+)", r"set \1 to \2 in the Settings tab"),
    (r"pass the folder", "choose the folder"),
    (r" \(-o PROJECT\)", ""),
]


def action_words(action: str) -> str:
    """What to do in the window for a StageFailed.action ('' when the hint says it all)."""
    if action.startswith("relax_setting:"):
        return f"change {action.split(':', 1)[1]} in the Settings tab"
    return ACTIONS.get(action, "")


def window_hint(hint: str, action: str = "") -> str:
    """The hint of a failure, reworded for the window, with the action's words first."""
    text = hint
    for pattern, replacement in REWRITES:
        text = re.sub(pattern, replacement, text)
    if action == "resume" and re.search(r"\bresumes? from\b", text):
        return f"press Run: {text}"  # the hint already says where it resumes from
    said = action_words(action)
    if said and said.lower() not in text.lower():
        return f"{said}; {text}" if text else said
    return text


def hint_label(state: str) -> str:
    """What a hint is called beside a stage: 'next' after a cancel (nothing to fix), else 'fix'."""
    return "next" if state == "cancelled" else "fix"
