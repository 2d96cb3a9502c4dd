"""The Python side of the runbooks (recipes/runbooks/*.sh): what a step has already done (`python -m
oss_runbooks.state`) and what the paper's runs cost (`python -m oss_runbooks.estimate`)."""
