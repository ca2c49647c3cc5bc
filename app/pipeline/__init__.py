"""The engine: every stage of the pipeline, free of Qt and vispy (see ARCHITECTURE.md)."""
