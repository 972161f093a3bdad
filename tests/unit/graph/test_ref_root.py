"""``$ref`` reads only regular files inside the reference root (issue 20 §1).

Each attack is a manifest someone else wrote: it must be refused with a
``ManifestLoadError`` naming the reference and its line, before any file
outside the root is opened.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from hotmesh import compiler
from hotmesh.cli import main
from hotmesh.errors import ManifestLoadError
from hotmesh.graph import ManifestLimits, load_app

GRAPH = "subscribes: s\nactivities:\n  t: {type: trigger}\n"


def _manifest(ref: str) -> str:
    return f'app:\n  id: ab\n  version: "1"\n  graphs:\n    - $ref: "{ref}"\n'


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``app/`` (the manifest's folder) with a part, beside a secret outside it."""
    (tmp_path / "app" / "parts").mkdir(parents=True)
    (tmp_path / "app" / "parts" / "g.yaml").write_text(GRAPH)
    (tmp_path / "secret.yaml").write_text("password: hunter2\n")
    return tmp_path


def _refused(path: Path, ref: str, **options: object) -> str:
    path.write_text(_manifest(ref))
    with pytest.raises(ManifestLoadError) as info:
        load_app(path, **options)  # type: ignore[arg-type]
    message = str(info.value)
    assert f"{path}:5:7: $ref {ref!r} refused: " in message
    assert "hunter2" not in message
    return message


def test_a_reference_inside_the_folder_loads(tree: Path) -> None:
    path = tree / "app" / "m.yaml"
    path.write_text(_manifest("parts/g.yaml"))
    assert load_app(path).document["app"]["graphs"][0]["subscribes"] == "s"


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("/etc/passwd", "an absolute path"),
        ("../secret.yaml", "leaves the reference root"),
        ("parts/../../secret.yaml", "leaves the reference root"),
        ("https://example.com/x.yaml", "URLs are not followed"),
        ("file:///etc/passwd", "URLs are not followed"),
        ("~/.ssh/id_rsa", "an absolute path"),
    ],
)
def test_escaping_references_are_refused(tree: Path, ref: str, why: str) -> None:
    assert why in _refused(tree / "app" / "m.yaml", ref)


def test_a_symlink_out_of_the_root_is_refused(tree: Path) -> None:
    (tree / "app" / "parts" / "link.yaml").symlink_to(tree / "secret.yaml")
    message = _refused(tree / "app" / "m.yaml", "parts/link.yaml")
    assert "a symlink leads out of the reference root" in message


def test_ref_root_widens_the_root_on_purpose(tree: Path) -> None:
    (tree / "g.yaml").write_text(GRAPH)
    path = tree / "app" / "m.yaml"
    path.write_text(_manifest("../g.yaml"))
    assert load_app(path, ref_root=tree).document["app"]["graphs"][0]["activities"]


def test_a_fifo_is_refused_without_being_opened(tree: Path) -> None:
    os.mkfifo(tree / "app" / "pipe.yaml")
    path = tree / "app" / "m.yaml"
    outcome: list[str] = []
    # Opening a FIFO for reading blocks until a writer comes: run in a thread
    # so a regression fails the test instead of hanging it.
    worker = threading.Thread(
        target=lambda: outcome.append(_refused(path, "pipe.yaml")), daemon=True
    )
    worker.start()
    worker.join(10)
    assert outcome and "a FIFO, not a regular file" in outcome[0]


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("../../../../../../../../dev/zero", "special file"),
        ("../../../../../../../../proc/self/environ", "special file"),
    ],
)
def test_special_files_are_refused_even_under_a_wide_root(
    tree: Path, ref: str, why: str
) -> None:
    assert why in _refused(tree / "app" / "m.yaml", ref, ref_root="/")


def test_a_directory_is_refused(tree: Path) -> None:
    assert "a directory" in _refused(tree / "app" / "m.yaml", "parts")


def test_a_referenced_file_has_a_size_limit(tree: Path) -> None:
    (tree / "app" / "big.yaml").write_text("x: " + "a" * 5000 + "\n")
    message = _refused(
        tree / "app" / "m.yaml", "big.yaml", limits=ManifestLimits(max_file_bytes=4096)
    )
    assert "larger than 4,096 bytes" in message


def test_the_top_manifest_must_be_a_regular_file(tree: Path) -> None:
    os.mkfifo(tree / "top.yaml")
    with pytest.raises(ManifestLoadError, match="a FIFO, not a regular file"):
        load_app(tree / "top.yaml")


def test_text_has_no_file_references_without_base_dir(tree: Path) -> None:
    text = _manifest("parts/g.yaml")
    with pytest.raises(ManifestLoadError) as info:
        load_app(text)
    assert "<string>:5:7: $ref 'parts/g.yaml' refused" in str(info.value)
    assert "pass base_dir=" in str(info.value)
    loaded = load_app(text, base_dir=tree / "app")
    assert loaded.document["app"]["graphs"][0]["subscribes"] == "s"
    # base_dir is the root too: text cannot climb out of it either.
    with pytest.raises(ManifestLoadError, match="leaves the reference root"):
        load_app(_manifest("../secret.yaml"), base_dir=tree / "app")


def test_references_inside_text_still_work() -> None:
    text = (
        'app:\n  id: ab\n  version: "1"\n  graphs:\n    - $ref: "#/parts/g"\n'
        "parts:\n  g:\n    subscribes: s\n    activities:\n      t: {type: trigger}\n"
    )
    assert load_app(text).document["app"]["graphs"][0]["subscribes"] == "s"


def test_compile_source_and_validate_take_the_options(tree: Path) -> None:
    text = _manifest("parts/g.yaml")
    assert compiler.compile_source(text, base_dir=tree / "app").app_id == "ab"
    problems = compiler.validate(_manifest("../secret.yaml"), base_dir=tree / "app")
    assert [p.line for p in problems] == [5]


def test_cli_validate_refuses_and_ref_root_widens(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tree / "g.yaml").write_text(GRAPH)
    path = tree / "app" / "m.yaml"
    path.write_text(_manifest("../g.yaml"))
    assert main(["validate", str(path)]) == 1
    assert "leaves the reference root" in capsys.readouterr().out
    assert main(["validate", "--ref-root", str(tree), str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: ok"
