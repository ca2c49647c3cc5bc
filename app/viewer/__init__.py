"""The 3D view: sparse SfM cloud, camera frusta and splat previews (vispy)."""
