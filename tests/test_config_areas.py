"""Area paths: one module builds them for every level, police stations included."""

from camwatch.config.areas import LEVELS, admin_names, area_path
from camwatch.dashboards._promql import AREA_LEVELS
from support.cameras import make_camera


def test_area_paths_at_every_level():
    cam = make_camera(county="夏邑县", township="城关镇", village="东关村", police_station="城关派出所")
    assert [area_path(cam, level) for level in LEVELS] == ["夏邑县", "夏邑县/城关镇", "夏邑县/城关镇/东关村"]
    assert area_path(cam, "police_station") == "夏邑县/城关派出所"
    assert admin_names(cam) == ["夏邑县", "城关镇", "东关村"]
    # A camera that names no village has no village area (not the township's path).
    assert area_path(make_camera(county="夏邑县", township="城关镇"), "village") == ""
    assert AREA_LEVELS == {"county": ("county",), "township": ("county", "township"), "village": LEVELS}
