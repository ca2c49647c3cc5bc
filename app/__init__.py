"""Spaceport: drone flight -> Structure-from-Motion -> compressed 3D Gaussian Splatting model."""

__version__ = "0.1.0"
