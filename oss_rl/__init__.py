"""Preference and RL training on verified builds: DPO on the `preference` config (`train_dpo.py`) and GRPO with the
local code reward (`train_grpo.py`, `reward.py`)."""
