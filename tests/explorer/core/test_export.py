"""MP4 export: a real H.264 file written with imageio-ffmpeg's ffmpeg, read back with imageio."""

from __future__ import annotations

import imageio.v2 as imageio
import numpy as np
import pytest

from explorer.core.export import WRITERS, ExportError, ping_pong_frames, save_mp4, to_uint8, upscale, writer_for


def read_mp4(path) -> tuple[np.ndarray, dict]:
    reader = imageio.get_reader(path, format="FFMPEG")
    try:
        return np.stack(list(reader.iter_data())), reader.get_meta_data()
    finally:
        reader.close()


def test_grey_frames_round_trip_ping_pong(tmp_path):
    frames = np.random.default_rng(0).random((7, 28, 28)).astype(np.float32)
    calls = []
    path = save_mp4(tmp_path / "anim.mp4", frames, fps=12, scale=4, progress=lambda *a: calls.append(a))
    assert calls[-1] == (12, 12) and len(calls) == 12 and oct(path.stat().st_mode & 0o777) != oct(0o600)
    video, meta = read_mp4(path)
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p") and meta["fps"] == 12
    assert video.shape == (7 + 5, 112, 112, 3)  # forward 7, back 5; 4x upscaled; RGB
    want = np.stack([to_uint8(upscale(f, 4)) for f in ping_pong_frames(frames)]).astype(int)
    err = np.abs(video[..., 0].astype(int) - want)
    assert err.max() <= 8 and err.mean() <= 1.5, (err.max(), err.mean())  # H.264 at high quality
    assert (video[..., 0] == video[..., 1]).all() and (video[..., 0] == video[..., 2]).all()  # grey stays grey
    assert [p.name for p in tmp_path.iterdir()] == ["anim.mp4"]  # no temporary file left


def test_odd_sized_colour_frames_are_padded_to_even_and_keep_their_colours(tmp_path):
    colours = np.float32([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.2, 0.3, 0.9]])
    frames = np.broadcast_to(colours[:, None, None, :], (3, 13, 15, 3)).copy()
    video, _ = read_mp4(save_mp4(tmp_path / "c.mp4", frames, scale=1, ping_pong=False))
    assert video.shape == (3, 14, 16, 3)  # H.264 in yuv420p needs even sides: one edge row and column added
    np.testing.assert_allclose(video.reshape(3, -1, 3).mean(1) / 255, colours, atol=0.03)


def test_an_existing_file_is_replaced_only_by_a_complete_video(tmp_path, monkeypatch):
    path = tmp_path / "anim.mp4"
    path.write_bytes(b"old")
    frames = np.zeros((4, 8, 8), np.float32)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", "/bin/false")  # an ffmpeg that fails at once
    with pytest.raises(ExportError) as err:
        save_mp4(path, frames)
    assert str(err.value).startswith(f"{path}: could not be written (ffmpeg") and "\n" not in str(err.value)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["anim.mp4"]
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE")
    save_mp4(path, frames)
    assert len(read_mp4(path)[0]) == 6


@pytest.mark.parametrize("bad", ["folder", "no-frames", "fps"])
def test_errors_are_one_sentence_naming_the_file(tmp_path, bad):
    path = tmp_path / "out.mp4"
    frames = np.zeros((3, 8, 8), np.float32)
    if bad == "folder":
        path.mkdir()  # ffmpeg writes the temporary file; putting it in place fails
    kwargs = {"fps": 0} if bad == "fps" else {}
    with pytest.raises(ExportError) as err:
        save_mp4(path, frames[:0] if bad == "no-frames" else frames, **kwargs)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and message.endswith(".") and "\n" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == (["out.mp4"] if bad == "folder" else [])


MAGIC = {"png": b"\x89PNG", "gif": b"GIF8", "mp4": b"ftyp"}


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_every_writer_takes_the_one_signature(tmp_path, kind):
    """The WRITERS table: each format is written by the same call, and makes a file of its format."""
    frames = np.random.default_rng(0).random((4, 8, 8)).astype(np.float32)
    calls = []
    writer = writer_for(kind)
    path = writer.write(tmp_path / f"out{writer.suffix}", frames, fps=6.0, scale=2, ping_pong=False,
                        progress=lambda d, t: calls.append((d, t)))
    head = path.read_bytes()[:12]
    assert MAGIC[kind] in head and calls and calls[-1][0] == calls[-1][1]
    assert writer.suffix.lstrip(".") in writer.filter.lower()


def test_an_unknown_export_format_is_one_sentence():
    with pytest.raises(ExportError, match=r"^movie\.avi: cannot export as 'avi' \(known: \.png, \.gif, \.mp4\)\.$"):
        writer_for("avi", "/tmp/movie.avi")
