"""``transforms.json``: the training poses in the form PAD's loaders read.

``{"camera_angle_x": ..., "frames": [{"file_path": "train/good/0.png", "transform_matrix": 4x4}]}``,
with camera-to-world matrices (Blender/OpenGL convention) and paths relative to the category
folder, extension included. Only training views appear: test images carry no pose.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from ..errors import MadgenError
from ..rig import CameraPose, Normalisation
from .atomic import write_json_atomic

TRAIN_FOLDER = "train/good"
#: The key under which madgen records the model's placement and scale in ``transforms.json``.
NORMALISATION_KEY = "madgen_normalisation"


def train_file_path(index: int) -> str:
    """The ``file_path`` of training view ``index`` (``train/good/<index>.png``)."""
    return f"{TRAIN_FOLDER}/{index}.png"


def transforms_document(camera_angle_x: float, frames: Sequence[tuple[int, CameraPose]],
                        normalisation: Normalisation | None = None) -> dict[str, object]:
    """The ``transforms.json`` content for (index, pose) pairs, ordered by index.

    With ``normalisation``, a ``madgen_normalisation`` key records how the model was placed and
    scaled in the scene (PAD's loaders read only ``camera_angle_x`` and ``frames``).
    """
    document: dict[str, object] = {
        "camera_angle_x": camera_angle_x,
        "frames": [
            {"file_path": train_file_path(index), "transform_matrix": [list(row) for row in pose.matrix]}
            for index, pose in sorted(frames, key=lambda item: item[0])
        ],
    }
    if normalisation is not None:
        document[NORMALISATION_KEY] = normalisation.to_dict()
    return document


def write_transforms(category_folder: Path, camera_angle_x: float, frames: Sequence[tuple[int, CameraPose]],
                     normalisation: Normalisation | None = None) -> Path:
    """Write ``transforms.json`` atomically into the category folder."""
    path = category_folder / "transforms.json"
    write_json_atomic(path, transforms_document(camera_angle_x, frames, normalisation))
    return path


def read_transforms(category_folder: Path) -> dict[str, object]:
    """Read and minimally check a ``transforms.json``."""
    path = category_folder / "transforms.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MadgenError(f"{path}: cannot read transforms ({exc})") from None
    if not isinstance(data, dict) or "camera_angle_x" not in data or not isinstance(data.get("frames"), list):
        raise MadgenError(f"{path}: expected camera_angle_x and a frames list")
    return data
