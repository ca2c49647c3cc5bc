"""The in-memory Gaussian splat set every stage exchanges (numpy, PLY conventions)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SH_C0 = 0.28209479177387814  # the degree-0 spherical-harmonics constant


@dataclass
class Splats:
    """N Gaussians in the reference 3DGS parameterisation (what the PLY stores).

    means (N,3) metres; scales (N,3) natural-log scales; quats (N,4) w,x,y,z (not necessarily
    normalised); opacities (N,) logits; sh0 (N,3) DC coefficients (f_dc); shN (N,K,3) higher
    SH coefficients with K = (degree+1)^2 - 1 (K = 0 for degree 0).
    """

    means: np.ndarray
    scales: np.ndarray
    quats: np.ndarray
    opacities: np.ndarray
    sh0: np.ndarray
    shN: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.means)
        shapes = {"means": (n, 3), "scales": (n, 3), "quats": (n, 4), "opacities": (n,),
                  "sh0": (n, 3)}
        for name, shape in shapes.items():
            arr = getattr(self, name)
            if arr.shape != shape:
                raise ValueError(f"Splats.{name} has shape {arr.shape}, expected {shape}")
        if self.shN.ndim != 3 or self.shN.shape[0] != n or self.shN.shape[2] != 3:
            raise ValueError(f"Splats.shN has shape {self.shN.shape}, expected ({n}, K, 3)")
        if self.shN.shape[1] not in (0, 3, 8, 15):
            raise ValueError(f"Splats.shN holds {self.shN.shape[1]} coefficients per channel; "
                             "expected 0, 3, 8 or 15 (SH degree 0-3)")

    def __len__(self) -> int:
        return len(self.means)

    @property
    def sh_degree(self) -> int:
        """Spherical-harmonics degree (0-3)."""
        return {0: 0, 3: 1, 8: 2, 15: 3}[self.shN.shape[1]]

    def subset(self, index: np.ndarray) -> "Splats":
        """The splats selected by a boolean mask or an index array."""
        return Splats(self.means[index], self.scales[index], self.quats[index],
                      self.opacities[index], self.sh0[index], self.shN[index])

    def with_sh_degree(self, degree: int) -> "Splats":
        """A copy truncated to `degree` (never raises the degree)."""
        k = (min(degree, self.sh_degree) + 1) ** 2 - 1
        return Splats(self.means, self.scales, self.quats, self.opacities, self.sh0,
                      self.shN[:, :k])

    def finite_mask(self) -> np.ndarray:
        """True for splats whose every value is finite."""
        parts = [self.means, self.scales, self.quats, self.opacities[:, None], self.sh0,
                 self.shN.reshape(len(self), -1)]
        return np.all(np.isfinite(np.concatenate(parts, axis=1)), axis=1)

    def rgb(self) -> np.ndarray:
        """Base colour in 0..1 from the DC coefficients (as viewers compute it)."""
        return np.clip(0.5 + SH_C0 * self.sh0, 0.0, 1.0)

    def alpha(self) -> np.ndarray:
        """Opacity in 0..1 (sigmoid of the logit)."""
        return 1.0 / (1.0 + np.exp(-self.opacities))
