"""catalog stage of the pipeline."""
