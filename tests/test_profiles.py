"""Render profiles: the built-ins, overrides, and one-line errors naming file and key."""

from __future__ import annotations

import pytest

from madgen.errors import MadgenError
from madgen.profiles import builtin_profiles, load_profile, parse_overrides


def test_builtin_profiles() -> None:
    assert builtin_profiles() == ["ci", "mad-real", "mad-sim", "standard"]
    standard = load_profile()
    assert (standard.resolution, standard.samples, standard.denoise) == (400, 16, True)
    assert (standard.denoise_prefilter, standard.denoise_quality) == ("FAST", "FAST")
    mad = load_profile("mad-sim")
    assert (mad.resolution, mad.samples, mad.denoise) == (800, 32, True)
    ci = load_profile("ci")
    assert (ci.resolution, ci.samples, ci.denoise, ci.max_bounces) == (128, 4, False, 2)


def test_overrides_and_yaml_files(tmp_path) -> None:
    assert load_profile("ci", parse_overrides(["samples=8", "denoise=yes"])).samples == 8
    custom = tmp_path / "mine.yaml"
    custom.write_text("resolution: 256\nsamples: 2\n")
    profile = load_profile(str(custom))
    assert (profile.name, profile.resolution, profile.samples) == ("mine", 256, 2)


@pytest.mark.parametrize(
    "text, message",
    [
        ("resolution: 400\nsampels: 3\n", "bad.yaml: unknown key 'sampels'"),
        ("resolution: big\n", "bad.yaml: key 'resolution': expected int, got 'big'"),
        ("resolution: 4\n", "bad.yaml: key 'resolution': 4 is not an integer within 16..8192"),
        ("denoise_quality: superb\n", "bad.yaml: key 'denoise_quality': 'SUPERB' is not one of"),
        ("resolution: [1\n", "bad.yaml:2: invalid YAML"),
        ("- 1\n- 2\n", "bad.yaml: expected a mapping"),
    ],
)
def test_bad_profile_names_file_and_key(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(MadgenError) as raised:
        load_profile(str(path))
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_bad_override_and_unknown_profile() -> None:
    with pytest.raises(MadgenError, match="override 'samples' is not key=value"):
        parse_overrides(["samples"])
    with pytest.raises(MadgenError, match="override: key 'samples': 0 is not"):
        load_profile("ci", {"samples": "0"})
    with pytest.raises(MadgenError, match="unknown render profile 'fast'; built-in: ci, mad-real, mad-sim, standard"):
        load_profile("fast")
