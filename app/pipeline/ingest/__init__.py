"""Flight folder ingest: image headers, EXIF/XMP, validation report."""
