"""Adoption: turn live objects into declarations, then tag them (``import`` and ``export``).

    names         logical names; the layout: paths that follow the project's ``paths``
    instructions  live instructions -> a template that renders back to exactly the same text
    yamltext      declarations -> pleasant YAML that reads back to the same data
    writer        files planned, checked for conflicts, written, rolled back
    contents      where a file's bytes come from (vector-store content, --files-from, a project)
    declare       live assistants and stores -> declarations and files
    tagging       after the files validate: ownership tags, attributes, code-interpreter swap
    flow          write -> validate -> tag -> verify, shared by import and export

    importer      `import`: adopt one live assistant (and its store) into the project
    exporter      `export`: write what an environment runs as a new project

Nothing here prints; :mod:`.importer` and :mod:`.exporter` are the entry points.
"""

from __future__ import annotations

from assistops.errors import AdoptError

__all__ = ["AdoptError"]
