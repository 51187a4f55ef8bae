"""Inference shared by the methods: placebo runs, false-positive rates, diagnostics."""
