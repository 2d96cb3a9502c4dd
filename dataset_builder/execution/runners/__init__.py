"""The executor's runners, one per language that needs one: copied into each row's folder and run there, in the
sandbox, by the language's interpreter. They speak the verdict channel (`execution.verdict`)."""
