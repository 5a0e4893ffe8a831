"""Tests of the declarations layer: load, render, validate, init, schemas (through the CLI)."""
