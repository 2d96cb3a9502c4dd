"""Magicoder fine-tuning for `train_sft.py`: the training data and the model card."""
