"""Rendering: project + environment -> desired state (templates, overrides, files)."""
