"""The models of the import benchmark, written from official LDraw part numbers (``../shared/ldraw``).

They stand in for the models of issue #15 (car.ldr and the 7140 X-wing are not in the subset):

- ``small.ldr``: a 60-part plain LDR, about 25,000 triangles (like the library's car.ldr);
- ``wing.mpd``: a 340-part MPD of about 270,000 triangles and 140 distinct parts (like the
  X-wing): a main model with loose parts and five submodels, one nested, one placed mirrored,
  one placed four times (two mirrored), and a decal submodel made only of quads and triangles;
- ``grid.mpd``: 100 copies of the small model on a grid (6,000 parts, about 2.5 million triangles).

Every part number below is in the official subset and in the complete library.
"""

from __future__ import annotations

from pathlib import Path

#: Common bricks and plates (the bulk of a real model).
COMMON = ["3001", "3020", "3023b", "3710", "3666", "3034", "3795", "3460", "3022", "3069b", "3024", "3004",
          "3003", "3010", "3039", "3040b", "3068b", "3005", "3622", "4286", "3298", "6141", "3062b", "2412b"]
#: Specialised parts, each used at least once in the 340-part model.
SPECIAL = ("15208 1762 18649 18980 20310 20953 2339 2341 2342 23443 2345 2349b 2357 23949 2408 2412b 24201 2422 "
           "2436a 2450 24599 2468 25195 25214 2577 2654b 2873 2876 2926 30033 30062 30180 3023a 30246 30365 "
           "30382 3048b 3049a 30554b 3183a 32607 32952 3308a 3324e 3563 3622 3661 3665a 38585 4081b 4088b 4089 "
           "4150 41768 41855 42604 4275b 4287a 4287b 44300 45677 4588 4591 4612 47117 47431 47757 48092 4857 "
           "5065 52494 53119 53914 60475b 60477 6055 6060 6081 61287 6177 6190a 6222 6259 64867 654 66606 69906 "
           "712a 713a 71752 71771 75937 77598 80514 86996 87617 88292 92099 925a 93591 93606 962 98281 98285 "
           "99781 u608 u8101 u8203 u8205 u9531b").split()
COLOURS = [4, 1, 14, 2, 15, 0, 71, 72, 25, 19, 70, 28]

IDENTITY = "1 0 0 0 1 0 0 0 1"
MIRROR_X = "-1 0 0 0 1 0 0 0 1"
TURN = "0 0 1 0 1 0 -1 0 0"


def _place(colour: int, x: float, y: float, z: float, matrix: str, name: str) -> str:
    return f"1 {colour} {x:g} {y:g} {z:g} {matrix} {name}"


def _grid_lines(parts: list[str], start: int = 0, columns: int = 6, spacing: float = 60.0) -> list[str]:
    lines = []
    for number, part in enumerate(parts):
        index = start + number
        x, z, y = (number % columns) * spacing, (number // columns % 5) * spacing, -(number // (columns * 5)) * 24
        matrix = TURN if index % 5 == 2 else IDENTITY
        lines.append(_place(COLOURS[index % len(COLOURS)], x, y, z, matrix, f"{part}.dat"))
    return lines


def small_lines() -> list[str]:
    """The 60-part model: 48 common parts and 12 specialised ones, every seventh turned."""
    parts = [COMMON[i % len(COMMON)] for i in range(50)] + SPECIAL[:10]
    return ["0 Small model, 60 parts", "0 Name: small.ldr", "0 Author: madgen bench/import_models.py",
            "0 BFC CERTIFY CCW", *_grid_lines(parts)]


def write_small(folder: Path) -> Path:
    """``small.ldr``: 60 parts, about 25,000 triangles."""
    path = folder / "small.ldr"
    path.write_text("\n".join(small_lines() + [""]), encoding="utf-8")
    return path


def _file(name: str, title: str, body: list[str]) -> list[str]:
    return [f"0 FILE {name}", f"0 {title}", f"0 Name: {name}", "0 BFC CERTIFY CCW", *body, "0 NOFILE"]


def wing_lines() -> list[str]:
    """The 340-part MPD (see the module docstring)."""
    special = list(SPECIAL)
    main = [_place(16, 0, 0, 0, IDENTITY, "fuselage.ldr"),
            _place(16, 200, 0, 0, IDENTITY, "wing.ldr"),
            _place(16, -200, 0, 0, MIRROR_X, "wing.ldr"),
            _place(16, 300, -100, 200, IDENTITY, "engine.ldr"),
            _place(16, -300, -100, 200, MIRROR_X, "engine.ldr"),
            _place(16, 300, 100, 200, IDENTITY, "engine.ldr"),
            _place(16, -300, 100, 200, MIRROR_X, "engine.ldr"),
            _place(15, 0, -120, -100, IDENTITY, "decal.dat"),
            *_grid_lines(special[:20] + COMMON[:10], start=0)]
    fuselage = [_place(16, 0, -150, 0, IDENTITY, "cockpit.ldr"),
                *_grid_lines(special[20:70] + [COMMON[i % 8] for i in range(50)], start=1)]
    cockpit = _grid_lines(special[70:90] + COMMON[:10], start=2)
    wing = _grid_lines(special[90:] + [COMMON[i % 8] for i in range(30)], start=3)
    engine = _grid_lines([COMMON[(3 * i) % len(COMMON)] for i in range(20)], start=4)
    decal = ["4 16 0 0 0 40 0 0 40 0 40 0 0 40", "4 16 0 0 0 0 0 40 -40 0 40 -40 0 0",
             "3 14 0 -1 0 20 -1 0 0 -1 20", "3 14 20 -1 0 20 -1 20 0 -1 20", "2 24 0 0 0 40 0 0"]
    return [*_file("main.ldr", "Wing fighter, 340 parts", main),
            *_file("fuselage.ldr", "Fuselage", fuselage),
            *_file("cockpit.ldr", "Cockpit", cockpit),
            *_file("wing.ldr", "Wing", wing),
            *_file("engine.ldr", "Engine", engine),
            *_file("decal.dat", "Decal (quads and triangles, no part header)", decal), ""]


def write_wing(folder: Path) -> Path:
    """``wing.mpd``: 340 parts, about 270,000 triangles."""
    path = folder / "wing.mpd"
    path.write_text("\n".join(wing_lines()), encoding="utf-8")
    return path


def write_grid(folder: Path, copies: int = 100) -> Path:
    """``grid.mpd``: ``copies`` placements of the small model (6,000 parts for 100)."""
    side = max(1, int(round(copies ** 0.5)))
    main = [_place(16, (n % side) * 400, 0, (n // side) * 360, IDENTITY, "small.ldr") for n in range(copies)]
    body = small_lines()[4:]
    lines = [*_file("grid.ldr", f"{copies} copies of the small model", main),
             *_file("small.ldr", "Small model, 60 parts", body), ""]
    path = folder / f"grid_{copies}.mpd"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


MODELS = {"small": write_small, "wing": write_wing, "grid": write_grid}
