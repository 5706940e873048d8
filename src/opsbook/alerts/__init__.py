"""Alert rules: the condition language, named metrics, the lifecycle, silences, windows, worker."""
