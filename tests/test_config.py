import pytest

from coach import config
from coach.errors import ConfigError


def test_defaults_and_paths(tmp_path):
    cfg = config.from_dict({}, root=tmp_path)
    assert cfg.data_dir == tmp_path / ".coach"
    assert cfg.retrieval.rrf_k == 60 and cfg.embedder.model.startswith("packaged:")


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match="retrieval.fussion"):
        config.from_dict({"retrieval": {"fussion": "rrf"}})
    with pytest.raises(ConfigError, match=r"\[retreival\]"):
        config.from_dict({"retreival": {}})


def test_wrong_type_and_bad_choice():
    with pytest.raises(ConfigError, match="candidates must be int"):
        config.from_dict({"retrieval": {"candidates": "50"}})
    with pytest.raises(ConfigError, match="one of"):
        config.from_dict({"retrieval": {"mode": "magic"}})
    with pytest.raises(ConfigError, match="alpha"):
        config.from_dict({"retrieval": {"alpha": 2}})


def test_load_from_file_and_env(tmp_path, monkeypatch):
    p = tmp_path / "c.toml"
    p.write_text('[retrieval]\nfusion = "convex"\nalpha = 1\n')
    monkeypatch.setenv("COACH_DATA_DIR", str(tmp_path / "d"))
    cfg = config.load(p, root=tmp_path)
    assert cfg.retrieval.fusion == "convex" and cfg.retrieval.alpha == 1.0
    assert cfg.data_dir == tmp_path / "d"
    p.write_text("[retrieval\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(p, root=tmp_path)
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "missing.toml", root=tmp_path)
