#!/usr/bin/env bash
# Build the training (sm_86) and compression (sm_75) images and push them to ECR.
# Needs docker and the AWS CLI with a profile allowed to push to ECR. Not run in CI.
#   usage: packaging/sagemaker/build_and_push.sh [--profile NAME] [--region REGION] [--tag TAG]
set -euo pipefail

profile="${AWS_PROFILE:-default}"
region="${AWS_REGION:-us-east-1}"
tag="$(git rev-parse --short HEAD 2>/dev/null || echo latest)"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --profile) profile="$2"; shift 2 ;;
    --region) region="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/../.." && pwd)"
account="$(aws sts get-caller-identity --profile "$profile" --query Account --output text)"
registry="${account}.dkr.ecr.${region}.amazonaws.com"
aws ecr get-login-password --profile "$profile" --region "$region" \
  | docker login --username AWS --password-stdin "$registry"

for spec in "spaceport-train:8.6" "spaceport-compress:7.5"; do
  repo="${spec%%:*}"
  arch="${spec##*:}"
  aws ecr describe-repositories --profile "$profile" --region "$region" --repository-names "$repo" \
    >/dev/null 2>&1 \
    || aws ecr create-repository --profile "$profile" --region "$region" --repository-name "$repo" \
         --image-scanning-configuration scanOnPush=true --encryption-configuration encryptionType=AES256 \
         >/dev/null
  image="${registry}/${repo}:${tag}"
  docker build --platform linux/amd64 --build-arg "TORCH_CUDA_ARCH_LIST=${arch}" \
    -f "$root/packaging/sagemaker/Dockerfile" -t "$image" "$root"
  docker push "$image"
  echo "pushed $image"
done

cat <<MSG
Point a project at them:
  spaceport process FLIGHT -o PROJECT --train-on cloud \\
    --set cloud.train_image=${registry}/spaceport-train:${tag} \\
    --set cloud.compress_image=${registry}/spaceport-compress:${tag}
MSG
