"""``manifest.json``: provenance plus one record per file of a category, and ``madgen verify``.

A manifest has no timings or dates, so rebuilding (or resuming) a dataset gives the same bytes.
Each file record holds its split, its pose (test poses too, which the MAD-Sim layout has no
place for), its seed, the defect plan for anomalous images, and the sha256 of image and mask.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..errors import MadgenError
from .atomic import write_json_atomic
from .digest import file_sha256

MANIFEST_NAME = "manifest.json"
FORMAT = "madgen-manifest/1"


def make_manifest(category: str, provenance: Mapping[str, Any], records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The manifest document of a category from provenance and file records (sorted by path)."""
    files = []
    for record in sorted(records, key=lambda r: (str(r["split"]), int(r["index"]))):
        files.append({key: value for key, value in record.items() if key != "key"})
    return {"format": FORMAT, "category": category, **provenance, "files": files}


def write_manifest(category_folder: Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` atomically into the category folder."""
    path = Path(category_folder) / MANIFEST_NAME
    write_json_atomic(path, manifest)
    return path


def read_manifest(category_folder: Path) -> dict[str, Any]:
    """Read a category's manifest; a clear error when it is missing or malformed."""
    path = Path(category_folder) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MadgenError(f"{path}: no manifest (only madgen builds have one; use 'madgen validate' "
                          "for any MAD-Sim folder)") from None
    except (OSError, ValueError) as exc:
        raise MadgenError(f"{path}: cannot read manifest ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("files"), list):
        raise MadgenError(f"{path}: not a madgen manifest (expected format {FORMAT})")
    return data


@dataclass
class VerifyReport:
    """What ``verify`` found: files checked and every problem, each naming its path."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every file matched."""
        return not self.problems


def category_folders(root: Path, marker: str) -> list[Path]:
    """``root`` itself when it holds ``marker``, else its sub-folders that do (sorted)."""
    root = Path(root)
    if (root / marker).exists():
        return [root]
    if not root.is_dir():
        raise MadgenError(f"{root}: no such folder")
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / marker).exists())


def verify(root: Path) -> VerifyReport:
    """Re-hash every file listed in the manifests under ``root`` (a category or a dataset folder)."""
    folders = category_folders(root, MANIFEST_NAME)
    if not folders:
        raise MadgenError(f"{root}: no {MANIFEST_NAME} here or in its sub-folders")
    report = VerifyReport()
    for folder in folders:
        manifest = read_manifest(folder)
        for record in manifest["files"]:
            pairs = [(record.get("file"), record.get("sha256"))]
            if record.get("mask"):
                pairs.append((record["mask"], record.get("mask_sha256")))
            if record.get("object_mask"):
                pairs.append((record["object_mask"], record.get("object_mask_sha256")))
            for name, expected in pairs:
                report.checked += 1
                path = folder / str(name)
                try:
                    actual = file_sha256(path)
                except OSError:
                    report.problems.append(f"{path}: missing or unreadable")
                    continue
                if actual != expected:
                    report.problems.append(f"{path}: sha256 {actual[:12]}... differs from the manifest's "
                                           f"{str(expected)[:12]}...")
    return report
