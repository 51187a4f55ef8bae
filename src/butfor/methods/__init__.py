"""Estimators: each a small class whose fit returns a frozen result."""
