"""TrainStage: decides local or cloud, then trains on the project's SfM hand-off."""

from __future__ import annotations

from typing import Any, Callable

from ..errors import InputError
from ..hardware import cloud_configured, decide, detect_gpus
from ..project import Project
from ..stage import Stage, StageContext
from .plan import TrainPlan, plan_for

FILE_OUTPUTS = ("splats", "metrics", "heldout_image")
PLY_BYTES = 62 * 4  # one splat in the standard 3DGS PLY (degree-3 SH)
CHECKPOINT_BYTES = 2 * 3 * 59 * 4  # parameters + two Adam moments, twice while a checkpoint is replaced


class TrainStage(Stage):
    """3DGS training from the undistorted SfM model (train/splats.ply).

    `detect` lists the CUDA GPUs (hardware.detect_gpus; tests hand in the devices they describe).
    """

    name = "train"
    upstream = ("sfm",)

    def __init__(self, detect: Callable[[], list] = detect_gpus) -> None:
        self.detect = detect

    def decision(self, project: Project) -> Any:
        """Where training runs for the project's settings (hardware.Decision; InputError if it cannot)."""
        return decide(project.settings.train.where, self.detect(), cloud_configured(project.settings.cloud))

    def plan(self, project: Project) -> TrainPlan:
        """The run the settings resolve to here: a CPU preview, or full training on a GPU or the cloud."""
        decision = self.decision(project)
        device = project.settings.train.device
        on_gpu = decision.where == "cloud" or (device if device != "auto" else decision.device).startswith("cuda")
        return plan_for(project.settings.train, on_gpu)

    def fingerprint_inputs(self, project: Project) -> dict[str, Any]:
        """The resolved run: switching between places that resolve to the same run changes nothing."""
        try:
            return {"run": self.plan(project).to_dict()}
        except InputError as exc:  # e.g. the cloud forced but not configured: preflight says so
            return {"run": f"unresolved: {exc.message}"}

    def preflight(self, ctx: StageContext) -> None:
        """Where training runs can run: the cloud configured, reachable and its cost approved, or
        the CUDA GPU that train.device insists on present."""
        decision = self.decision(ctx.project)
        if decision.where == "cloud":
            from ..cloud.offload import preflight_cloud

            preflight_cloud(ctx)
            return
        device = ctx.settings.device
        if device.startswith("cuda") and not self.detect():
            raise InputError(f"train.device is {device} but no CUDA GPU is visible",
                             hint="set train.device to auto (a CPU preview here) or train in the cloud")

    def expected_bytes(self, project: Project) -> int:
        """The trained PLY, checkpoints and previews (only the PLY comes back from the cloud)."""
        try:
            plan, cloud = self.plan(project), self.decision(project).where == "cloud"
        except InputError:
            return 0
        per_splat = 2 * PLY_BYTES if cloud else PLY_BYTES + CHECKPOINT_BYTES  # cloud: archive + PLY
        previews = 3 * project.settings.train.preview_max_gaussians * PLY_BYTES
        return plan.max_gaussians * per_splat + (0 if cloud else previews)

    def run(self, ctx: StageContext) -> dict[str, Any]:
        """Apply the local-or-cloud policy, then train locally or hand over to the cloud."""
        from .trainer import train_model  # torch: only when training runs

        settings, project = ctx.settings, ctx.project
        decision = self.decision(project)
        ctx.log(f"training {decision.where}: {decision.reason}",
                level="warning" if decision.warning else "info")
        if decision.where == "cloud":
            from ..cloud.offload import train_in_cloud

            return train_in_cloud(ctx)
        paths = project.paths
        owner = f"{project.root}#sfm={project.record('sfm').run_id}"
        self._forget_outdated_checkpoint(ctx, owner)
        device = decision.device if settings.device == "auto" else settings.device
        outputs = train_model(paths.sfm_model, paths.sfm_images, paths.train, settings, ctx.emit,
                              ctx.cancel, paths.checkpoints, device=device, owner=owner)
        prefix = paths.train.relative_to(project.root).as_posix()
        return {k: (f"{prefix}/{v}" if k in FILE_OUTPUTS and v else v) for k, v in outputs.items()}

    def summary(self, outputs: dict[str, Any]) -> str:
        """e.g. '120k Gaussians, held-out PSNR 24.1 dB (untrained 11.3), 7000 steps'."""
        psnr, before = outputs.get("psnr"), outputs.get("initial_psnr")
        quality = (f", held-out PSNR {psnr:.2f} dB" if psnr is not None else "") + (
            f" (untrained {before:.1f})" if psnr is not None and before is not None else "")
        count = outputs.get("num_gaussians")
        return (f"{count if count is not None else 'an unknown number of'} Gaussians{quality}, "
                f"{outputs.get('steps')} steps on {outputs.get('device')} -> "
                f"{outputs.get('splats') or outputs.get('scene_sog')}")

    @staticmethod
    def _forget_outdated_checkpoint(ctx: StageContext, owner: str) -> None:
        """This project's checkpoint from an earlier SfM result cannot be resumed: drop it."""
        from . import checkpoint as ckpt_io

        folder = ctx.project.paths.checkpoints
        saved = ckpt_io.load(folder)
        if saved is None:
            return
        previous = str(saved.extra.get("owner", ""))
        if previous.split("#")[0] == str(ctx.project.root) and previous != owner:
            ckpt_io.remove(folder)
            ctx.log("the SfM model changed since the last checkpoint; training starts over")
