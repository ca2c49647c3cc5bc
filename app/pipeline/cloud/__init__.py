"""Cloud offload: S3 transfer, SageMaker jobs, log tailing, job records, costs (no Qt).

Entry points: `offload.train_in_cloud(ctx, decision)` (TrainStage, on its worker thread),
`offload.cloud_compress_outputs(project)` and `offload.fetch_splats(...)` (the compress stage),
`offload.job_records(project)` (instant, from cloud/jobs.json), `offload.refresh_jobs` and
`offload.cancel_jobs` (network calls: run them off the UI thread), `container.main` (the image).
"""
