"""`huitong ari` is contributed by the telephony module and reads its settings."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from comms.cli import main
from telephony.settings import TelephonySettings


def test_huitong_ari_is_a_command() -> None:
    result = CliRunner().invoke(main, ["ari", "--help"])
    assert result.exit_code == 0 and "Stasis" in result.output


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("http://u:p@pbx:8088", "http://u:p@pbx:8088/ari"),
        ("http://u:p@pbx:8088/", "http://u:p@pbx:8088/ari"),
        ("https://u:p@pbx/ari", "https://u:p@pbx/ari"),
    ],
)
def test_ari_url_gets_the_ari_path(url: str, base: str) -> None:
    assert TelephonySettings(ari_url=url).ari_base_url == base
