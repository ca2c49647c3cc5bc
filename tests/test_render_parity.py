"""rasterize_cpu and rasterize_cuda agree on the same splats and camera, image and gradients
(needs CUDA and gsplat's compiled kernels; bench/gpu/run.sh runs the same check)."""

from __future__ import annotations

import pytest
import torch

from render_parity import compare, failures, random_splats

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("which", ["few", "random"])
def test_cpu_and_cuda_rasterizers_agree(which):
    diffs = compare(None if which == "few" else random_splats())
    assert failures(diffs) == [], diffs
