"""lake stage of the pipeline."""
