"""schema stage of the pipeline."""
