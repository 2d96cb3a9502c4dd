"""What the builder, training, generation and evaluation share; light enough to import anywhere (no torch,
transformers, datasets or trl at import time)."""
