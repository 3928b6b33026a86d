"""Settings fail fast, naming the variable at fault."""

from __future__ import annotations

import pytest

from dms_common.settings import ServiceSettings, SettingsError, load_settings

GOOD = {
    "DMS_DATABASE_URL": "postgresql+asyncpg://dms:s3cr3t-value@127.0.0.1/dms",
    "DMS_S3_ACCESS_KEY": "dmsdev",
    "DMS_S3_SECRET_KEY": "a-real-secret-1234",
    "DMS_JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\nMCow...\n-----END PUBLIC KEY-----",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in list(__import__("os").environ):
        if key.startswith("DMS_"):
            monkeypatch.delenv(key)
    for key, value in GOOD.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def test_loads_from_dms_prefixed_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("DMS_S3_BUCKET", "arsip")
    settings = load_settings(ServiceSettings)
    assert settings.s3_bucket == "arsip"
    assert settings.s3_secret_key.get_secret_value() == "a-real-secret-1234"
    assert "a-real-secret-1234" not in repr(settings)


def test_missing_secret_stops_with_the_variable_named(env: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    env.delenv("DMS_S3_SECRET_KEY")
    with pytest.raises(SettingsError):
        load_settings(ServiceSettings)
    assert "DMS_S3_SECRET_KEY: is required" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["changeme", "CHANGE-ME-please", "<secret>", "secret", "", "xxx"])
def test_placeholder_secret_is_refused(env: pytest.MonkeyPatch, value: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    env.setenv("DMS_S3_SECRET_KEY", value)
    with pytest.raises(SettingsError):
        load_settings(ServiceSettings)
    assert "DMS_S3_SECRET_KEY" in capsys.readouterr().err
