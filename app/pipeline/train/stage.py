"""TrainStage: decides local or cloud, then trains on the project's SfM hand-off."""

from __future__ import annotations

from typing import Any

from ..stage import Stage, StageContext

FILE_OUTPUTS = ("splats", "metrics", "heldout_image")


class TrainStage(Stage):
    """3DGS training from the undistorted SfM model (train/splats.ply)."""

    name = "train"
    upstream = ("sfm",)

    def run(self, ctx: StageContext) -> dict[str, Any]:
        """Apply the local-or-cloud policy, then train locally or hand over to the cloud."""
        from ..hardware import cloud_configured, decide, detect_gpus  # torch: only when training runs
        from .trainer import train_model

        settings, project = ctx.settings, ctx.project
        decision = decide(settings.where, detect_gpus(), cloud_configured(project.settings.cloud))
        ctx.log(f"training {decision.where}: {decision.reason}",
                level="warning" if decision.warning else "info")
        if decision.where == "cloud":
            from ..cloud.offload import train_in_cloud

            return train_in_cloud(ctx, decision)
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
        psnr = outputs.get("psnr")
        quality = (f", held-out PSNR {psnr:.2f} dB (untrained {outputs.get('initial_psnr')})"
                   if psnr is not None else "")
        return (f"{outputs.get('num_gaussians')} Gaussians{quality}, {outputs.get('steps')} steps "
                f"on {outputs.get('device')} -> {outputs.get('splats')}")

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
