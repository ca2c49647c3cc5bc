"""3DGS training: Gaussian model, trainer, rasterizer selection (gsplat CUDA / CPU), metrics."""
