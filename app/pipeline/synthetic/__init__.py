"""Synthetic sample flight: a rendered drone survey with real EXIF/XMP and ground truth."""

from .flight import generate_flight

__all__ = ["generate_flight"]
