"""MP4 export from the interpolation panel: frames decoded by the model service, the file encoded on a worker."""

from __future__ import annotations

import imageio.v2 as imageio
import numpy as np

from explorer.core import latent

TIMEOUT = 30_000


def test_export_mp4_writes_the_interpolation_with_progress(qtbot, window, decode, tmp_path):
    ip, st = window.interp, window.state
    a, b = (-1.0, 0.0), (1.0, 1.0)
    st.interpolation.a, st.interpolation.b = a, b  # what Set A / Set B do (the key presses are tested elsewhere)
    infos: list[str] = []
    st.info.connect(infos.append)
    path = tmp_path / "talk" / "anim.mp4"
    with qtbot.waitSignal(ip.exported, timeout=TIMEOUT) as done:
        assert ip.export_mp4(str(path), n_frames=6) is not None
    assert done.args == [str(path)]
    assert any(m.startswith("writing anim.mp4: frame ") for m in infos), infos
    assert infos[-1] == f"wrote {path}"
    reader = imageio.get_reader(path, format="FFMPEG")
    try:
        video = np.stack(list(reader.iter_data()))
    finally:
        reader.close()
    want = decode(latent.lerp(np.float32(a), np.float32(b), np.linspace(0, 1, 6)))  # (6, H, W) grey
    h, w = want.shape[1:3]
    assert video.shape == (6 + 4, 4 * h, 4 * w, 3)  # ping-pong, 4x upscaled
    k = 4  # nearest-neighbour upscaled: compare each pixel's centre
    for i in (0, 2, 5):
        frame = video[i, k // 2 :: k, k // 2 :: k, 0] / 255.0
        assert np.abs(frame - want[i]).mean() < 3 / 255 and np.abs(frame - want[i]).max() < 12 / 255, i
    assert [p.name for p in path.parent.iterdir()] == ["anim.mp4"]


def test_export_mp4_errors_are_one_sentence(qtbot, window, tmp_path):
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT):
        assert window.interp.export_mp4(str(tmp_path / "x.mp4")) is None
    assert window.last_error == "Set A and B first: there is nothing to animate."
    st = window.state
    st.interpolation.a, st.interpolation.b = (-1.0, 0.0), (1.0, 1.0)
    out = tmp_path / "exports"  # tmp_path also holds the test's settings file
    folder = out / "taken.mp4"
    folder.mkdir(parents=True)  # the finished video cannot replace a folder
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT):
        window.interp.export_mp4(str(folder), n_frames=4)
    assert window.last_error.startswith(f"{folder}: could not be written (") and "\n" not in window.last_error
    assert folder.is_dir() and list(out.iterdir()) == [folder]
