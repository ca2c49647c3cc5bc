"""Rendering Gaussians into a camera, shared by training, its evaluation and the compression's
render check: the rasterizers (gsplat on CUDA, a torch compositor on CPU) and views."""
