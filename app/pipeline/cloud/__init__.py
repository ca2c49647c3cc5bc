"""Cloud offload: S3 transfer, SageMaker jobs, log tailing, job records, costs (no Qt).

Entry points: `offload.preflight_cloud(ctx)` and `offload.train_in_cloud(ctx)` (TrainStage),
`approval.estimate_offload(settings)` (the cost a user approves: CLI prompt, window dialog),
`control.job_records / active_jobs` (instant, from cloud/jobs.json), `control.refresh_jobs`,
`control.stop_jobs` and `control.fetch_splats` (network calls: run them off the UI thread),
`container.main` (the image; its names are in contract.py).
"""
