"""Benchmark: the splat viewer on this machine's OpenGL (Mesa llvmpipe here) at 800x600.

Every row is set against the current disc markers (vispy Markers, what main's 3D tab drew, and
main's loading path: read the PLY and build the markers on the UI thread) measured in the same
run, so load from other processes affects both alike; `uptime` load is recorded beside them.

  render   full-model frame (every visible splat, sorted) at 100k and 1M splats, overview and a
           drone-height view; markers frame of the same splats
  moving   frame time while the camera orbits (the budgeted preview), in the Qt window's canvas
  sort     1M: cull + 16-bit keys + stable sort, its row gather, float32 argsort
  load     1M PLY and SOG: ours (read, prepare, rows) beside `splat-transform -q FILE null`
  ui       10 ms timer probe: largest gap while a 1M model loads and while a snapshot replaces it,
           against main's path (its whole UI-thread stall) and an idle probe
  sh       view-dependent colour: per-view CPU evaluation (1M, SH3) against SH3 in the vertex
           shader (extra draw time per frame, 100k)

Run:  xvfb-run -a -s "-screen 0 1280x1024x24" python bench/viewer.py [--splats 100000,1000000]
      [--sh 3] [--out bench/results/viewer.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from app.pipeline.export import ExportOptions, export_splats  # noqa: E402
from app.pipeline.compress.settings import CompressSettings  # noqa: E402
from app.pipeline.formats.model import load_model  # noqa: E402
from app.pipeline.formats.ply import read_ply, write_ply  # noqa: E402
from app.viewer.pose import Pose, projection  # noqa: E402
from app.viewer.scheduler import gathered  # noqa: E402
from app.viewer.sorting import draw_list, sort_keys_16  # noqa: E402
from app.viewer.splat_data import pack_colours, prepare  # noqa: E402
from app.viewer.splat_visual import DrawData  # noqa: E402
from splat_scenes import drone_scene  # noqa: E402

SIZE = (800, 600)
CLI = Path(os.environ.get("SPLAT_TRANSFORM",
                          ROOT / ".tools/splat-transform/node_modules/.bin/splat-transform"))
VIEWS = {"overview": ((-150.0, -200.0, 180.0), (0.0, 0.0, 0.0)),
         "drone": ((10.0, -25.0, 40.0), (10.0, 5.0, 0.0))}  # ~40 m up, looking ahead and down


def median_ms(fn, repeat: int = 3) -> float:
    """Median wall time of `fn()` in milliseconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return round(1000 * float(np.median(times)), 1)


def load_average() -> float:
    """1-minute load average (other processes share these cores)."""
    return round(os.getloadavg()[0], 2)


# -- render: offscreen frames ------------------------------------------------------------------
def canvas_with_camera(view: str):
    """An offscreen 800x600 canvas whose pinhole camera sits at one of VIEWS."""
    from vispy import scene

    from app.viewer.camera import PinholeCamera
    from app.viewer.offscreen import gl_backend

    gl_backend()
    canvas = scene.SceneCanvas(size=SIZE, show=False, bgcolor="black")
    box = canvas.central_widget.add_view(border_width=0, margin=0)
    camera = PinholeCamera()
    box.camera = camera
    camera.scene_size = 300.0
    eye, target = VIEWS[view]
    camera.pose = Pose.looking_at(np.array(eye), np.array(target))
    camera.view_changed()
    return canvas, box, camera


def render_rows(data: DrawData, markers_of, n: int) -> list[dict]:
    """Full-model frames of the splat visual and of disc markers, per view."""
    from vispy.scene import visuals

    from app.viewer.splat_visual import SplatNode

    rows = []
    for view in VIEWS:
        canvas, box, camera = canvas_with_camera(view)
        node = SplatNode(parent=box.scene)
        node.scheduler.draw_everything = True
        node.set_data(data)
        frame = median_ms(canvas.render)
        draw = round(1000 * node.last_draw_s, 1)
        drawn = node.scheduler.drawn
        node.parent = None
        markers = visuals.Markers(parent=box.scene, scaling="scene")
        markers.set_data(*markers_of[0], **markers_of[1])
        markers_frame = median_ms(canvas.render)
        canvas.close()
        rows.append({"splats": n, "view": view, "visible": drawn, "frame_ms": frame,
                     "draw_ms": draw, "markers_frame_ms": markers_frame,
                     "frame_vs_markers": round(frame / markers_frame, 2),
                     "fps": round(1000 / frame, 1), "load": load_average()})
        print(f"render {n:>9,} {view:8} frame {frame:7.0f} ms (draw {draw:6.0f}) "
              f"markers {markers_frame:7.0f} ms  x{frame / markers_frame:.2f}  "
              f"{drawn:,} visible", flush=True)
    return rows


def markers_data(splats) -> tuple:
    """What main's viewer gave vispy Markers: centres, DC colour + opacity, 1-sigma diameter."""
    rgba = np.c_[splats.rgb(), splats.alpha()].astype(np.float32)
    size = 2.0 * np.exp(splats.scales.astype(np.float64)).mean(axis=1)
    return (splats.means,), {"face_color": rgba, "edge_width": 0, "size": size}


# -- moving and ui: the Qt window ---------------------------------------------------------------
class Probe:
    """A 10 ms QTimer recording how late each tick comes (the UI thread's stalls)."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self.last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self.last)
        self.last = now

    def reset(self) -> None:
        """Start a new measurement."""
        self.gaps, self.last = [], time.perf_counter()

    def summary(self) -> dict:
        """Largest and 99th-percentile gap in ms."""
        g = np.array(self.gaps or [0.0]) * 1000
        return {"max_gap_ms": round(float(g.max()), 1),
                "p99_gap_ms": round(float(np.percentile(g, 99)), 1), "ticks": len(self.gaps)}


def spin(app, seconds: float = 0.0, until=None, timeout: float = 300.0) -> float:
    """Run the event loop for `seconds`, or until `until()`; returns the time it took."""
    t = time.perf_counter()
    while True:
        app.processEvents()
        elapsed = time.perf_counter() - t
        if (until is not None and until()) or (until is None and elapsed >= seconds) or \
                elapsed > timeout:
            return elapsed
        time.sleep(0.002)


def orbit(app, scene, steps: int = 40) -> dict:
    """Orbit the camera a step every 30 ms; paint times and the probe while it moves."""
    paints, start = [], [0.0]
    first = scene.canvas.events.draw.connect(lambda e: start.__setitem__(0, time.perf_counter()),
                                             position="first")
    last = scene.canvas.events.draw.connect(
        lambda e: paints.append(time.perf_counter() - start[0]), position="last")
    probe = Probe()
    for _ in range(steps):
        scene.camera.pose.orbit(0.01, 0.0)
        scene.camera.view_changed()
        spin(app, 0.03)
    out = probe.summary()
    scene.canvas.events.draw.disconnect(first)
    scene.canvas.events.draw.disconnect(last)
    p = np.array(paints) * 1000
    out.update({"paints": len(paints), "paint_median_ms": round(float(np.median(p)), 1),
                "paint_p90_ms": round(float(np.percentile(p, 90)), 1),
                "paint_max_ms": round(float(p.max()), 1), "load": load_average()})
    return out


def qt_rows(ply: Path, snapshot: Path) -> dict:
    """Moving frames and UI-thread stalls in the real 3D tab, against main's markers path."""
    from PySide6.QtWidgets import QWidget
    from vispy import scene as vscene
    from vispy.scene import visuals

    from app.ui.app import create_application
    from app.ui.pool import BackgroundPool
    from app.ui.viewer_panel import ViewerPanel
    from app.viewer.camera import PinholeCamera

    app = create_application()
    out: dict = {}
    idle = Probe()
    spin(app, 2.0)
    out["idle_probe"] = idle.summary()
    panel = ViewerPanel(pool=BackgroundPool())
    panel.resize(SIZE[0] + 340, SIZE[1] + 80)
    panel.show()
    spin(app, 1.0)
    panel.scene.canvas.native.resize(*SIZE)
    spin(app, 0.5)
    splats = panel.scene.splats.scheduler
    probe = Probe()
    t = time.perf_counter()
    panel.open_model(ply)
    spin(app, until=lambda: panel.arrays is not None)
    shown = time.perf_counter() - t
    spin(app, until=lambda: splats.complete)
    out["load_1m_in_window"] = {**probe.summary(), "seconds_to_first_frame": round(shown, 2),
                                "seconds_to_complete": round(time.perf_counter() - t, 2),
                                "load": load_average()}
    print("ui load", out["load_1m_in_window"], flush=True)
    for view, (eye, target) in VIEWS.items():
        panel.scene.camera.pose = Pose.looking_at(np.array(eye), np.array(target))
        panel.scene.camera.view_changed()
        spin(app, until=lambda: splats.complete)
        out[f"moving_{view}"] = {**orbit(app, panel.scene), "budget": splats.budget}
        print("moving", view, out[f"moving_{view}"], flush=True)
        spin(app, until=lambda: splats.complete)
    probe.reset()
    t = time.perf_counter()
    panel.open_model(snapshot, user=False)  # what a training snapshot does, after the throttle
    spin(app, until=lambda: snapshot.name in panel.model_text and splats.complete)
    out["snapshot_1m"] = {**probe.summary(), "seconds_to_complete": round(
        time.perf_counter() - t, 2), "load": load_average()}
    print("ui snapshot", out["snapshot_1m"], flush=True)
    panel.close()
    # main's path: read the PLY and build the markers on the UI thread, then orbit the markers
    holder = QWidget()
    canvas = vscene.SceneCanvas(size=SIZE, parent=holder, show=False, bgcolor="black")
    box = canvas.central_widget.add_view(border_width=0, margin=0)
    box.camera = PinholeCamera()
    box.camera.scene_size = 300.0
    holder.resize(*SIZE)
    holder.show()
    spin(app, 0.5)
    t = time.perf_counter()
    loaded = read_ply(ply)
    keep = np.sort(np.random.default_rng(0).choice(len(loaded), min(len(loaded), 200_000),
                                                   replace=False))
    args, kwargs = markers_data(loaded.subset(keep))
    markers = visuals.Markers(parent=box.scene, scaling="scene")
    markers.set_data(*args, **kwargs)
    canvas.render()
    out["main_markers_ui_stall_ms"] = round(1000 * (time.perf_counter() - t), 1)

    class Holder:  # what orbit() needs of a scene view
        pass

    view = Holder()
    view.canvas, view.camera = canvas, box.camera
    for name, (eye, target) in VIEWS.items():
        box.camera.pose = Pose.looking_at(np.array(eye), np.array(target))
        out[f"markers_moving_{name}"] = orbit(app, view)
        print("markers moving", name, out[f"markers_moving_{name}"], flush=True)
    holder.close()
    return out


# -- sort, load, sh -----------------------------------------------------------------------------
def sort_rows(arrays, data: DrawData) -> dict:
    """1M sort figures from the overview."""
    eye, target = VIEWS["overview"]
    K = np.array([[600.0, 0, 400], [0, 600.0, 300], [0, 0, 1]])
    mvp = projection(K, *SIZE, 0.1, 1e4) @ Pose.looking_at(np.array(eye),
                                                            np.array(target)).viewmat
    depth = (np.c_[arrays.means, np.ones(len(arrays))] @ mvp[3]).astype(np.float32)
    dl = draw_list(arrays.xyz, mvp, len(arrays))
    return {"splats": len(arrays), "cull_and_sort_16bit_ms": median_ms(
                lambda: draw_list(arrays.xyz, mvp, len(arrays)), 5),
            "keys_16bit_stable_sort_ms": median_ms(lambda: sort_keys_16(depth), 5),
            "float32_argsort_ms": median_ms(lambda: np.argsort(depth), 5),
            "gather_rows_ms": median_ms(lambda: gathered(data.table, dl.ids), 5),
            "load": load_average()}


def load_rows(files: dict[str, Path]) -> list[dict]:
    """Our read + prepare of each file beside splat-transform reading it."""
    rows = []
    have_cli = shutil.which("node") and CLI.exists()
    for fmt, path in files.items():
        t = time.perf_counter()
        loaded = load_model(path)
        t_read = time.perf_counter() - t
        arrays = prepare(loaded.splats)
        DrawData.build(arrays)
        total = time.perf_counter() - t
        row = {"format": fmt, "splats": len(loaded.splats), "bytes": path.stat().st_size
               if path.is_file() else None, "ours_read_s": round(t_read, 2),
               "ours_read_prepare_s": round(total, 2), "load": load_average()}
        if have_cli:
            t = time.perf_counter()
            subprocess.run([str(CLI), "-q", str(path), "null"], check=True)
            row["splat_transform_read_s"] = round(time.perf_counter() - t, 2)
            row["ours_read_vs_splat_transform"] = round(t_read / row["splat_transform_read_s"], 2)
        rows.append(row)
        print("load", row, flush=True)
    return rows


SH_VERTEX_EXTRA = """
uniform vec3 u_campos;
attribute vec4 a_sh0; attribute vec4 a_sh1; attribute vec4 a_sh2; attribute vec4 a_sh3;
attribute vec4 a_sh4; attribute vec4 a_sh5; attribute vec4 a_sh6; attribute vec4 a_sh7;
attribute vec4 a_sh8; attribute vec4 a_sh9; attribute vec4 a_sh10; attribute vec4 a_sh11;
vec3 sh_rgb(vec3 p) {
    vec3 d = normalize(p - u_campos);
    float x = d.x, y = d.y, z = d.z, z2 = z * z;
    float c1 = x * x - y * y, s1 = 2.0 * x * y;
    float b[15];
    b[0] = -0.48860251 * y; b[1] = 0.48860251 * z; b[2] = -0.48860251 * x;
    b[3] = 0.54627422 * s1; b[4] = -1.09254843 * z * y; b[5] = 0.94617470 * z2 - 0.31539157;
    b[6] = -1.09254843 * z * x; b[7] = 0.54627422 * c1;
    float tc = -2.28522900 * z2 + 0.45704580, tb = 1.44530572 * z;
    float c2 = x * c1 - y * s1, s2 = x * s1 + y * c1;
    b[8] = -0.59004359 * s2; b[9] = tb * s1; b[10] = tc * y;
    b[11] = z * (1.86588166 * z2 - 1.11952900); b[12] = tc * x; b[13] = tb * c1;
    b[14] = -0.59004359 * c2;
    vec4 s[12];
    s[0] = a_sh0; s[1] = a_sh1; s[2] = a_sh2; s[3] = a_sh3; s[4] = a_sh4; s[5] = a_sh5;
    s[6] = a_sh6; s[7] = a_sh7; s[8] = a_sh8; s[9] = a_sh9; s[10] = a_sh10; s[11] = a_sh11;
    vec3 rgb = vec3(0.0);
    for (int k = 0; k < 15; k++) {
        int i = 3 * k;
        rgb += b[k] * vec3(s[i / 4][i - 4 * (i / 4)], s[(i + 1) / 4][i + 1 - 4 * ((i + 1) / 4)],
                           s[(i + 2) / 4][i + 2 - 4 * ((i + 2) / 4)]);
    }
    return rgb;
}
"""


def sh_rows(data: DrawData, splats_1m, n_shader: int) -> dict:
    """Per-view CPU colours (every splat, once per rest) against SH in the vertex shader (every
    splat's 4 x 45 coefficient reads and basis, every frame)."""
    from vispy import gloo
    from vispy.gloo import gl

    from app.viewer import splat_shaders
    from app.viewer.splat_visual import TRIANGLE

    arrays = prepare(splats_1m)
    eye = np.array(VIEWS["overview"][0])
    cpu_ms = median_ms(lambda: pack_colours(arrays.colours(eye)), 3)
    canvas, box, camera = canvas_with_camera("overview")
    canvas.render()  # a context
    gl.use_gl("gl+")
    small = prepare(splats_1m.subset(np.arange(n_shader)))
    table = DrawData.build(small).table
    mvp = camera.mvp(SIZE)
    dl = draw_list(small.xyz, mvp, len(small))
    rows = gathered(table, dl.ids)
    coeffs = np.zeros((len(small), 48), np.float32)
    coeffs[:, :45] = small.shN.reshape(len(small), 45)[dl.ids]
    vertex_sh = splat_shaders.VERTEX.replace("void main() {", SH_VERTEX_EXTRA + "void main() {")
    vertex_sh = vertex_sh.replace("    v_color = vec4(rgb, a_t0.w);",
                                  "    v_color = vec4(max(rgb + sh_rgb(a_t0.xyz), 0.0), a_t0.w);")
    fbo = gloo.FrameBuffer(color=gloo.Texture2D((SIZE[1], SIZE[0], 4)))
    out = {"cpu_per_view_colours_ms": cpu_ms, "cpu_splats": len(arrays),
           "shader_splats": n_shader}
    for name, code in (("base", splat_shaders.VERTEX), ("sh3_in_shader", vertex_sh)):
        program = gloo.Program(code, splat_shaders.FRAGMENT)
        for i in range(3):
            program[f"a_t{i}"] = gloo.VertexBuffer(rows[i], divisor=1)
        if name != "base":
            for j in range(12):
                program[f"a_sh{j}"] = gloo.VertexBuffer(
                    np.ascontiguousarray(coeffs[:, 4 * j:4 * j + 4]), divisor=1)
            program["u_campos"] = eye.astype(np.float32)
        program["a_corner"] = TRIANGLE
        for key, value in (("u_mvp", mvp.T.astype(np.float32)), ("u_viewport", SIZE),
                           ("u_near", 0.01), ("u_crop_on", 0.0), ("u_crop_min", (0, 0, 0)),
                           ("u_crop_max", (0, 0, 0)), ("u_highlight", 0.0)):
            program[key] = value

        def draw() -> None:
            with fbo:
                gloo.set_viewport(0, 0, *SIZE)
                gloo.clear(color=(0, 0, 0, 0))
                gloo.set_state(blend=True, blend_func=("one", "one_minus_src_alpha"))
                program.draw("triangles")
                gl.glFinish()

        out[f"{name}_draw_ms"] = median_ms(draw, 3)
    canvas.close()
    extra = out["sh3_in_shader_draw_ms"] - out["base_draw_ms"]
    out["shader_extra_ms_per_frame"] = round(extra, 1)
    out["shader_extra_ms_per_frame_at_1m"] = round(extra * len(arrays) / n_shader, 1)
    out["chosen"] = "cpu" if extra > 0 else "shader"
    out["why"] = ("the CPU evaluation runs once per camera rest in the pool; the shader's cost "
                  "lands on every frame on the UI thread and halves the splats a frame can draw"
                  if extra > 0 else "the shader costs nothing measurable here")
    out["load"] = load_average()
    print("sh", out, flush=True)
    return out


def main() -> int:
    """Run every section, print as it goes, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--splats", default="100000,1000000")
    parser.add_argument("--sh", type=int, default=3, help="SH degree of the synthetic models")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/viewer.json")
    parser.add_argument("--skip", default="", help="comma-separated sections to leave out")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    counts = [int(v) for v in args.splats.split(",")]
    result: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "size": SIZE, "sh_degree": args.sh,
                    "load_at_start": load_average(), "gpu": "none lent to this session"}
    work = Path(tempfile.mkdtemp(prefix="bench-viewer-"))
    try:
        models = {n: drone_scene(n, sh_degree=args.sh, seed=1) for n in counts}
        big = models[max(counts)]
        if "render" not in skip:
            result["render"] = [row for n, splats in models.items()
                                for row in render_rows(DrawData.build(prepare(splats)),
                                                       markers_data(splats), n)]
        data = DrawData.build(prepare(big))
        if "sort" not in skip:
            result["sort"] = sort_rows(data.arrays, data)
            print("sort", result["sort"], flush=True)
        ply, snapshot = work / "model.ply", work / "snapshot.ply"
        write_ply(ply, big)
        write_ply(snapshot, drone_scene(len(big), sh_degree=args.sh, seed=2))
        if "load" not in skip:
            sog = work / "model.sog"
            export_splats(ply, "sog", sog, ExportOptions(
                compress=CompressSettings(sh_degree=args.sh)))
            result["load"] = load_rows({"ply": ply, "sog": sog})
        if "ui" not in skip:
            result["ui"] = qt_rows(ply, snapshot)
        if "sh" not in skip and args.sh == 3:
            result["sh"] = sh_rows(data, big, min(100_000, len(big)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["load_at_end"] = load_average()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
