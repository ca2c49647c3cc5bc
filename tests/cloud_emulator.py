"""A local stand-in for AWS to try the offload by hand: moto's server plus a SageMaker player.

    python tests/cloud_emulator.py [--port 5055] [--mode run|hold|fail]

It prints the environment and the `spaceport process ... --train-on cloud` command to use in
another terminal. Each new job is played as `--mode` says: `run` runs our real container
entrypoint on this machine (CPU) as the job, streaming its stdout to CloudWatch and its outputs
to S3; `hold` keeps it InProgress/Training (try `spaceport cloud status|cancel PROJECT`);
`fail` fails it with a FailureReason. Ctrl-C stops the emulator (its state is in memory).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloud_moto import (ACCESS_KEY, BUCKET, COMPRESS_IMAGE, REGION, ROLE, SECRET_KEY,  # noqa: E402
                        TRAIN_IMAGE, MotoAws, add_stop, seed_account, start_in_progress)


def play(aws: MotoAws, name: str, mode: str, work: Path) -> None:
    """Drive one job the way `mode` says."""
    if mode == "hold":
        aws.set_state(name, "InProgress", "Training")
    elif mode == "fail":
        aws.set_state(name, "InProgress", "Training")
        time.sleep(3)
        aws.set_state(name, "Failed", "Failed", failure="AlgorithmError: forced by cloud_emulator --mode fail")
    else:
        code = aws.run_container(name, work / name)
        print(f"job {name}: container exited {code}", flush=True)


def main() -> int:
    """Start the emulator and play jobs until interrupted."""
    import os

    from moto.server import ThreadedMotoServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--mode", choices=["run", "hold", "fail"], default="run")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{args.port}"
    env = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_DEFAULT_REGION": REGION}
    os.environ.update(env)
    start_in_progress(setattr)
    aws = MotoAws(url)
    add_stop(setattr)
    seed_account(aws)
    sets = (f"--set cloud.bucket={BUCKET} --set cloud.role_arn={ROLE} --set cloud.train_image={TRAIN_IMAGE} "
            f"--set cloud.compress_image={COMPRESS_IMAGE}")
    print("In another terminal:\n  export " + " ".join(f"{k}={v}" for k, v in env.items()))
    print(f"  spaceport process FLIGHT -o PROJECT --train-on cloud {sets} "
          "--set train.max_steps=200 --set cloud.poll_s=10")
    print(f"  spaceport cloud status PROJECT ; spaceport cloud cancel PROJECT\nplaying jobs: --mode {args.mode}",
          flush=True)
    work = Path(tempfile.mkdtemp(prefix="spaceport-sagemaker-"))
    played: set[str] = set()
    try:
        while True:
            for name in list(aws.backend().training_jobs):
                if name not in played:
                    played.add(name)
                    print(f"job {name}: created", flush=True)
                    threading.Thread(target=play, args=(aws, name, args.mode, work), daemon=True).start()
            time.sleep(0.5)
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
