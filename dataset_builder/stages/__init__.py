"""The builder's stages: each reads its upstream run folder and writes its own (see `dataset_builder.pipeline`)."""
