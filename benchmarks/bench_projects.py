"""Projects for the engine benchmarks: the example project and synthetic ones of chosen sizes.

Each project is written to a folder with one environment, ``bench``, pointing at a backend
through the openai provider. :class:`Shape` also carries what the lower bounds are computed
from (assistants, stores, files per store, distinct contents), counted from the files that
were written, not from anything the engine reports.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "assistants"
ENVIRONMENT = "bench"
KEY_ENV = "ASSISTOPS_BENCH_KEY"


@dataclass(frozen=True)
class Spec:
    """Sizes of a synthetic project."""

    name: str
    assistants: int
    stores: int
    files_per_store: int  # Markdown files per store, one of them shared by every store
    csvs: int  # code-interpreter CSVs, attached to the first few assistants


@dataclass
class Shape:
    """A written project and the counts its lower bounds come from."""

    name: str
    root: Path
    assistants: int
    store_files: list[int]  # files declared per store
    contents: set[str] = field(default_factory=set)  # sha256 of every uploaded content
    knowledge_file: Path | None = None  # a store's file, edited by the knowledge scenario
    instructions_file: Path | None = None  # edited by the instruction scenario
    api: str = "assistants"  # what the assistants become: assistants, agents, or a release

    @property
    def stores(self) -> int:
        """How many vector stores the project declares."""
        return len(self.store_files)

    @property
    def uploads(self) -> int:
        """Distinct contents: what apply from empty uploads (content-addressed)."""
        return len(self.contents)

    def describe(self) -> str:
        """``A assistants, S stores (F files), D contents`` for tables."""
        files = sum(self.store_files)
        stores = "1 store" if self.stores == 1 else f"{self.stores} stores"
        return f"{self.assistants} asst, {stores} ({files} files), {self.uploads} uploads"


def _environment(base_url: str) -> str:
    return (
        f"  {ENVIRONMENT}:\n"
        "    provider: openai\n"
        f"    base_url: {base_url}\n"
        f"    api_key_env: {KEY_ENV}\n"
    )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: What an environment of each API adds to the example project's, and what the API leaves out
#: (an agent holds no code-interpreter files, so the CSVs are not uploaded there).
_EXAMPLE_APIS = {
    "assistants": ("", True),
    "agents": (
        "    api: agents\n"
        "    leave_out: [description, temperature, top_p, file_search, code_interpreter, strict]\n",
        False,
    ),
    "responses": ("    api: responses\n    leave_out: [description]\n", True),
}


def example_project(where: Path, base_url: str, api: str = "assistants") -> Shape:
    """The repository's example project (3 assistants, 1 store of 4 files, 2 CSVs) on an
    environment of ``api``: assistants, agents, or a release of Responses requests."""
    extra, with_csvs = _EXAMPLE_APIS[api]
    name = "example" if api == "assistants" else f"example ({api})"
    root = where / ("example" if api == "assistants" else f"example-{api}")
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".assistops"))
    with (root / "assistops.yaml").open("a", encoding="utf-8") as handle:
        handle.write(
            "\n"
            + _environment(base_url)
            + extra
            + "    variables:\n      support_email: s@bench.example\n      escalation: None.\n"
        )
    handbook = sorted((root / "knowledge" / "handbook").glob("*.md"))
    csvs = sorted((root / "analyst" / "data").glob("*.csv")) if with_csvs else []
    return Shape(
        name=name,
        root=root,
        assistants=3,
        store_files=[len(handbook)],
        contents={_sha(p) for p in handbook + csvs},
        knowledge_file=handbook[0],
        instructions_file=root / "support" / "instructions.md.j2",
        api=api,
    )


def synthetic_project(where: Path, base_url: str, spec: Spec) -> Shape:
    """A generated project: ``spec.assistants`` assistants, the first third searching a store
    each (round robin), the first three using every CSV with the code interpreter."""
    root = where / spec.name
    (root / "assistants").mkdir(parents=True)
    (root / "knowledge").mkdir()
    (root / "data").mkdir()
    (root / "assistops.yaml").write_text(
        f"project: bench-{spec.name}\n"
        "paths:\n"
        '  assistants: ["assistants/*/assistant.yaml"]\n'
        '  knowledge: ["knowledge/*.yaml"]\n'
        "defaults:\n"
        "  model: gpt-4o-mini\n"
        "environments:\n" + _environment(base_url),
        encoding="utf-8",
    )
    shape = Shape(spec.name, root, spec.assistants, [])
    for s in range(spec.stores):
        folder = root / "knowledge" / f"store{s:02d}"
        folder.mkdir()
        for f in range(spec.files_per_store):
            path = folder / ("shared.md" if f == 0 else f"doc{f:03d}.md")
            body = "shared policy for every store" if f == 0 else f"store {s} document {f}"
            path.write_text(f"# {path.stem}\n\n{body}.\n", encoding="utf-8")
            shape.contents.add(_sha(path))
        (root / "knowledge" / f"store{s:02d}.yaml").write_text(
            f"name: store{s:02d}\nfiles:\n  - knowledge/store{s:02d}/*.md\n", encoding="utf-8"
        )
        shape.store_files.append(spec.files_per_store)
        shape.knowledge_file = shape.knowledge_file or folder / "doc001.md"
    for c in range(spec.csvs):
        path = root / "data" / f"table{c}.csv"
        path.write_text(f"month,amount\n2024-01,{c}\n", encoding="utf-8")
        shape.contents.add(_sha(path))
    for a in range(spec.assistants):
        folder = root / "assistants" / f"a{a:03d}"
        folder.mkdir()
        tools = ""
        if spec.stores and a < spec.assistants // 3:
            tools += f"  - file_search:\n      vector_store: store{a % spec.stores:02d}\n"
        if spec.csvs and a < 3:
            tools += "  - code_interpreter:\n      files:\n        - data/*.csv\n"
        (folder / "instructions.md.j2").write_text(
            f"You are bench assistant number {a}.\n", encoding="utf-8"
        )
        (folder / "assistant.yaml").write_text(
            f"name: a{a:03d}\n" + (f"tools:\n{tools}" if tools else ""),
            encoding="utf-8",
        )
    shape.instructions_file = root / "assistants" / "a000" / "instructions.md.j2"
    return shape
