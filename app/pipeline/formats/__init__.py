"""Readers and writers of the files at stage boundaries (PLY, SOG, .splat, COLMAP helpers)."""
