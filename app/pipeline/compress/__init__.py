"""Compression: PlayCanvas SOG writer/reader, splat ordering, palettes."""
