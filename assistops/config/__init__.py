"""Loading declarations: strict YAML, the pydantic models, and the project on disk."""
