"""source stage of the pipeline."""
