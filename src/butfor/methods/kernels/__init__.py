"""Numerical kernels shared by estimators and the platform audit (numpy in, numpy out)."""
