"""Structure-from-Motion: pycolmap (default) and OpenSfM backends, stats, georegistration."""
