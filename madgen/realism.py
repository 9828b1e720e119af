"""MAD-Real-like views, the pure half: draw each image's look, jitter its camera, lay out its bench.

A *look* is a plain JSON mapping drawn from a profile's :class:`~madgen.profiles.realism.Realism`
and the image's seed (:func:`draw_look`): the bench and backdrop (kind, colours, pattern), the
clutter, the lights, the world and the camera effects. It travels in the build plan and in the
manifest; the renderer only applies it. :func:`jitter_pose` moves a rig pose as a hand-held
camera would, and the jittered pose is the one that is rendered and recorded.

The bench is laid out per view in the *camera's* frame (the toy is posed on the bench, as for a
photograph of a toy turned by hand): its normal is the camera's up vector tilted towards the
camera by the drawn ``bench_tilt_deg``, and it touches the toy's lowest point along that normal,
so the toy stands on it and casts a contact shadow. The camera is always above the bench and the
backdrop and every clutter object are farther from the camera than any point of the toy, so
nothing of the environment can hide the toy: masks made from the model alone stay exact.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from .profiles.realism import Realism
from .rig import CameraPose, look_at
from .seeds import derive_seed

CLUTTER_KINDS = ("box", "cylinder", "puck")
#: Image value levels: sensor noise's sigma is given at mid-grey; shot noise grows with the signal.
READ_NOISE_SHARE = 0.35


def _uniform(rng: np.random.Generator, bounds: Sequence[float]) -> float:
    low, high = float(bounds[0]), float(bounds[1])
    return low if high <= low else float(rng.uniform(low, high))


def _r(value: float, digits: int = 6) -> float:
    return float(round(float(value), digits)) + 0.0


def _hsv(rng: np.random.Generator, hue: Sequence[float], saturation: Sequence[float], value: float) -> list[float]:
    colour = colorsys.hsv_to_rgb(_uniform(rng, hue) % 1.0, _uniform(rng, saturation), value)
    return [_r(c, 4) for c in colour]


def _surface(rng: np.random.Generator, kind: str, value: float) -> dict[str, Any]:
    if kind == "wood":  # oiled or varnished boards
        base = _hsv(rng, (0.045, 0.1), (0.45, 0.75), value)
        grain = [_r(c * 0.55, 4) for c in base]
        roughness, specular, metallic = _uniform(rng, (0.18, 0.45)), 0.5, 0.0
    elif kind == "rubber":  # a conveyor belt
        base = _hsv(rng, (0.0, 1.0), (0.0, 0.08), value * 0.45)
        grain = [_r(c * 0.7, 4) for c in base]
        roughness, specular, metallic = _uniform(rng, (0.35, 0.6)), 0.4, 0.0
    elif kind == "metal":  # a brushed steel table
        base = _hsv(rng, (0.5, 0.65), (0.0, 0.08), 0.45 + 0.4 * value)
        grain = [_r(c * 0.8, 4) for c in base]
        roughness, specular, metallic = _uniform(rng, (0.22, 0.4)), 0.5, 1.0
    else:  # fabric: a felt or a cutting mat
        base = _hsv(rng, (0.0, 1.0), (0.25, 0.6), value)
        grain = [_r(c * 0.75, 4) for c in base]
        roughness, specular, metallic = _uniform(rng, (0.7, 0.95)), 0.3, 0.0
    return {"kind": kind, "colour": base, "colour2": grain, "roughness": _r(roughness, 4), "specular": specular,
            "metallic": metallic, "scale": _r(_uniform(rng, (0.6, 1.6)), 4),
            "rotation_deg": _r(_uniform(rng, (-30.0, 30.0)), 3),
            "offset": [_r(_uniform(rng, (-50.0, 50.0)), 3) for _ in range(3)]}


def draw_look(realism: Realism, seed: int) -> dict[str, Any]:
    """One image's look, drawn from ``realism`` with ``seed`` (pure; JSON-serialisable)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5EA1]))
    surface_kind = str(realism.surfaces[int(rng.integers(len(realism.surfaces)))])
    bench = _surface(rng, surface_kind, _uniform(rng, realism.surface_value))
    bench["tilt_deg"] = _r(_uniform(rng, realism.bench_tilt_deg), 3)
    bench["roll_deg"] = _r(_uniform(rng, (-4.0, 4.0)), 3)
    backdrop_kind = str(realism.backdrops[int(rng.integers(len(realism.backdrops)))])
    backdrop_value = _uniform(rng, realism.backdrop_value)
    backdrop = {"kind": backdrop_kind, "colour": _hsv(rng, (0.0, 1.0), (0.05, 0.45), backdrop_value),
                "colour2": _hsv(rng, (0.0, 1.0), (0.05, 0.3), backdrop_value * _uniform(rng, (0.6, 0.9))),
                "distance": _r(_uniform(rng, realism.backdrop_distance), 4),
                "scale": _r(_uniform(rng, (0.5, 2.0)), 4),
                "offset": [_r(_uniform(rng, (-50.0, 50.0)), 3) for _ in range(3)]}
    clutter = []
    for number in range(int(rng.integers(realism.clutter[0], realism.clutter[1] + 1))):
        clutter.append({
            "kind": CLUTTER_KINDS[int(rng.integers(len(CLUTTER_KINDS)))],
            "side": -1 if (number + int(rng.integers(2))) % 2 == 0 else 1,
            "lateral": _r(_uniform(rng, (0.55, 1.05)), 4),   # of the half-width of the view at its depth
            "behind": _r(_uniform(rng, (0.1, 2.5)), 4),      # metres beyond the toy's farthest point
            "size": _r(_uniform(rng, (0.25, 0.8)), 4),
            "aspect": _r(_uniform(rng, (0.4, 1.6)), 4),
            "yaw_deg": _r(_uniform(rng, (0.0, 360.0)), 3),
            "colour": _hsv(rng, (0.0, 1.0), (0.1, 0.8), _uniform(rng, (0.15, 0.7))),
            "roughness": _r(_uniform(rng, (0.2, 0.8)), 4),
            "metallic": float(rng.uniform() < 0.3),
        })
    lights = []
    for number in range(int(rng.integers(realism.lights[0], realism.lights[1] + 1))):
        kind = str(realism.light_kinds[int(rng.integers(len(realism.light_kinds)))])
        distance = _uniform(rng, realism.light_distance)
        share = 1.0 if number == 0 else _uniform(rng, (0.25, 0.7))  # the first light is the key
        irradiance = _uniform(rng, realism.light_irradiance) * share
        # an area light's irradiance facing it is P / (pi d^2); a point or spot light's P / (4 pi d^2)
        power = irradiance * math.pi * distance ** 2 * (4.0 if kind == "spot" else 1.0)
        lights.append({
            "kind": kind,
            "azimuth_deg": _r(_uniform(rng, realism.key_azimuth_deg if number == 0 else realism.light_azimuth_deg), 3),
            "elevation_deg": _r(_uniform(rng, realism.light_elevation_deg), 3), "distance": _r(distance, 4),
            "size": _r(_uniform(rng, realism.light_size), 4), "power_w": _r(power, 3),
            "temperature_k": _r(_uniform(rng, realism.light_temperature_k), 1),
            "spot_deg": _r(_uniform(rng, (40.0, 75.0)), 3), "spot_blend": _r(_uniform(rng, (0.2, 0.6)), 3),
        })
    world = {"zenith": _hsv(rng, (0.55, 0.65), (0.1, 0.45), _uniform(rng, (0.5, 1.0))),
             "horizon": _hsv(rng, (0.05, 0.15), (0.05, 0.3), _uniform(rng, (0.5, 1.0))),
             "ground": _hsv(rng, (0.0, 1.0), (0.0, 0.2), _uniform(rng, (0.1, 0.3))),
             "strength": _r(_uniform(rng, realism.world_strength), 4),
             "rotation_deg": _r(_uniform(rng, (0.0, 360.0)), 3)}
    camera = {"exposure_ev": _r(_uniform(rng, realism.exposure_ev), 4),
              "white_balance_k": _r(_uniform(rng, realism.white_balance_k), 1),
              "white_balance_tint": _r(_uniform(rng, realism.white_balance_tint), 3),
              "noise_sigma": _r(_uniform(rng, realism.noise_sigma), 4),
              "noise_seed": derive_seed(int(seed), "sensor-noise"),
              "fstop": _r(_uniform(rng, realism.fstop), 4),
              "focus_offset": _r(_uniform(rng, (-realism.focus_jitter, realism.focus_jitter)), 4)}
    return {"bench": bench, "backdrop": backdrop, "clutter": clutter, "lights": lights, "world": world,
            "camera": camera}


def jitter_pose(pose: CameraPose, realism: Realism, seed: int) -> tuple[CameraPose, dict[str, float]]:
    """A hand-held camera near ``pose``: aim off-centre, a roll, a little nearer or farther.

    Returns the true (jittered) pose, with its spherical coordinates recomputed, and the drawn jitter.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x717E]))
    angle = rng.uniform(0.0, 2.0 * math.pi)
    radius = realism.aim_jitter * math.sqrt(rng.uniform())
    aim = (radius * math.cos(angle), radius * math.sin(angle))
    roll = _uniform(rng, (-realism.roll_jitter_deg, realism.roll_jitter_deg))
    scale = 1.0 + _uniform(rng, (-realism.distance_jitter, realism.distance_jitter))
    matrix = pose.camera_to_world
    right, up = matrix[:3, 0], matrix[:3, 1]
    eye = matrix[:3, 3] * scale
    target = right * aim[0] + up * aim[1]
    jittered = look_at(eye, target)
    cos, sin = math.cos(math.radians(roll)), math.sin(math.radians(roll))
    rolled = jittered.copy()  # rotate the camera about its own viewing axis
    rolled[:3, 0] = cos * jittered[:3, 0] + sin * jittered[:3, 1]
    rolled[:3, 1] = -sin * jittered[:3, 0] + cos * jittered[:3, 1]
    rounded = tuple(tuple(float(round(v, 12)) + 0.0 for v in row) for row in rolled)
    x, y, z = eye
    distance = float(np.linalg.norm(eye))
    azimuth = math.degrees(math.atan2(x, -y)) % 360.0
    elevation = math.degrees(math.asin(max(-1.0, min(1.0, z / distance))))
    true_pose = replace(pose, matrix=rounded, azimuth_deg=_r(azimuth, 9), elevation_deg=_r(elevation, 9),
                        distance=_r(distance, 9))
    return true_pose, {"aim_x": _r(aim[0]), "aim_y": _r(aim[1]), "roll_deg": _r(roll), "distance_scale": _r(scale)}


def realistic_view(pose: CameraPose, realism: Realism, seed: int) -> tuple[CameraPose, dict[str, Any]]:
    """A view's true (jittered) pose and its look, both drawn from ``seed``; the look records the
    jitter and the rig pose it came from."""
    look = draw_look(realism, seed)
    true_pose, jitter = jitter_pose(pose, realism, seed)
    look["camera"]["pose_jitter"] = jitter
    look["camera"]["rig_pose"] = {"azimuth_deg": pose.azimuth_deg, "elevation_deg": pose.elevation_deg,
                                  "distance": pose.distance}
    return true_pose, look


def spread_views(poses: Sequence[CameraPose], count: int) -> list[int]:
    """``count`` rig indexes spread evenly over the view sphere (farthest-point order, then sorted).

    Starts from the view nearest the equator at azimuth 0, then repeatedly adds the view farthest
    from every view chosen so far (ties: the lowest index), so the choice is fixed for a rig.
    """
    if count >= len(poses):
        return list(range(len(poses)))
    directions = np.array([pose.view_direction() for pose in poses])
    first = int(np.argmin(np.abs(directions[:, 2]) + 1e-3 * np.arange(len(poses))))
    chosen = [first]
    nearest = np.arccos(np.clip(directions @ directions[first], -1.0, 1.0))
    while len(chosen) < count:
        pick = int(np.argmax(np.round(nearest, 9)))
        chosen.append(pick)
        nearest = np.minimum(nearest, np.arccos(np.clip(directions @ directions[pick], -1.0, 1.0)))
    return sorted(chosen)


# ---- layout: where the bench, backdrop, clutter and lights go for one view (pure geometry) ----

def bench_frame(camera_to_world: np.ndarray, tilt_deg: float, roll_deg: float = 0.0) -> np.ndarray:
    """3x3 columns (right, forward, normal) of the bench for a camera: ``normal`` is the camera's up
    tilted towards the camera by ``tilt_deg`` (the camera looks down onto the bench by that angle)
    and rolled by ``roll_deg`` about the viewing axis; ``forward`` runs along the bench away from it."""
    right, up, back = camera_to_world[:3, 0], camera_to_world[:3, 1], camera_to_world[:3, 2]
    roll = math.radians(roll_deg)
    right, up = math.cos(roll) * right + math.sin(roll) * up, -math.sin(roll) * right + math.cos(roll) * up
    tilt = math.radians(tilt_deg)
    normal = math.cos(tilt) * up + math.sin(tilt) * back
    forward = math.sin(tilt) * up - math.cos(tilt) * back
    return np.stack([right, forward, normal], axis=1)


def _frame_matrix(frame: np.ndarray, origin: np.ndarray) -> list[list[float]]:
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = frame, origin
    return [[_r(v, 9) for v in row] for row in matrix]


def layout(look: dict[str, Any], camera_to_world: np.ndarray, toy_points: np.ndarray,
           camera_angle_x: float) -> dict[str, Any]:
    """World placements of a look's bench, backdrop, clutter and lights for one view.

    ``toy_points``: points of the toy in world coordinates (its support points suffice: every
    extreme of the toy lies among them). Everything is placed so that the camera sits above the
    bench and nothing but the toy lies between the camera and the toy.
    """
    bench = look["bench"]
    frame = bench_frame(camera_to_world, float(bench["tilt_deg"]), float(bench.get("roll_deg", 0.0)))
    right, forward, normal = frame[:, 0], frame[:, 1], frame[:, 2]
    points = np.asarray(toy_points, dtype=np.float64).reshape(-1, 3)
    centre = (points.min(axis=0) + points.max(axis=0)) / 2.0 if len(points) else np.zeros(3)
    radius = float(np.linalg.norm(points - centre, axis=1).max()) if len(points) else 1.0
    height = float((points @ normal).min()) - 0.002 if len(points) else -radius  # touching the toy's lowest point
    eye = camera_to_world[:3, 3]
    view = -camera_to_world[:3, 2]
    ground_centre = centre - normal * (float(centre @ normal) - height)
    result: dict[str, Any] = {"bench": _frame_matrix(frame, ground_centre)}
    # the backdrop stands on the bench, facing the camera, beyond the toy
    depth_far = float(((points - eye) @ view).max()) if len(points) else float((centre - eye) @ view) + radius
    backdrop_origin = ground_centre + forward * (float(look["backdrop"]["distance"]) + radius)
    backdrop_frame = np.stack([right, normal, -forward], axis=1)  # x right, y up, z towards the camera
    result["backdrop"] = _frame_matrix(backdrop_frame, backdrop_origin)
    half_width = math.tan(camera_angle_x / 2.0)
    clutter = []
    for item in look["clutter"]:
        size = float(item["size"])
        # every point of the item (footprint within 0.75 size of its base, height size * aspect) lies
        # at least ``behind`` metres beyond the toy's farthest point along the viewing axis
        depth = depth_far + float(item["behind"]) + size * (0.75 + float(item["aspect"]))
        along = (depth - float((ground_centre - eye) @ view)) / max(float(forward @ view), 1e-3)
        base = ground_centre + forward * along
        lateral = float(item["side"]) * float(item["lateral"]) * half_width * float((base - eye) @ view)
        base = base + right * lateral
        yaw = math.radians(float(item["yaw_deg"]))
        spin = np.array([[math.cos(yaw), -math.sin(yaw), 0.0], [math.sin(yaw), math.cos(yaw), 0.0], [0, 0, 1.0]])
        clutter.append(_frame_matrix(frame @ spin, base))
    result["clutter"] = clutter
    lights = []
    for light in look["lights"]:
        azimuth, elevation = math.radians(float(light["azimuth_deg"])), math.radians(float(light["elevation_deg"]))
        # azimuth 0: from the camera's side of the toy; positive: to the camera's right
        direction = (math.cos(elevation) * (-math.cos(azimuth) * forward + math.sin(azimuth) * right)
                     + math.sin(elevation) * normal)
        position = centre + direction * float(light["distance"])
        lights.append([[_r(v, 9) for v in row] for row in look_at(position, centre, normal)])
    result["lights"] = lights
    result["world"] = [[_r(v, 9) for v in column] for column in frame.T]  # bench axes, for the sky's up
    result["focus_distance"] = _r(float((centre - eye) @ view) + float(look["camera"]["focus_offset"]), 6)
    return result


def sensor_noise(rgb: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Add seeded sensor noise to uint8 RGB: read noise plus shot noise growing with the signal.

    ``sigma`` is the standard deviation in 8-bit levels at mid-grey; a little of it is shared by the
    three channels (luminance grain), the rest is per channel.
    """
    if sigma <= 0:
        return rgb
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x0153]))
    level = rgb.astype(np.float64) / 255.0
    scale = sigma * np.sqrt(READ_NOISE_SHARE + (1.0 - READ_NOISE_SHARE) * level / 0.5)
    shared = rng.standard_normal(rgb.shape[:2])[:, :, None]
    own = rng.standard_normal(rgb.shape)
    noisy = rgb.astype(np.float64) + scale * (0.5 * shared + 0.866 * own)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def finish_image(rgb: np.ndarray, look: dict[str, Any] | None) -> np.ndarray:
    """The written pixels of a rendered view: sensor noise for a look, unchanged otherwise."""
    if not look:
        return rgb
    camera = look["camera"]
    return sensor_noise(rgb, float(camera["noise_sigma"]), int(camera["noise_seed"]))
