"""Cloud offload: S3 transfer, SageMaker jobs, log tailing, job records, costs (no Qt)."""
