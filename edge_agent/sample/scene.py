"""Renders the frames of a sample drive from its plan: a pinhole camera over a textured straight road.

The ground is a world-anchored texture looked up per pixel (at half resolution), so road and grass
flow in true perspective as the ego drives; poles, trees and cars are projected from world
coordinates, so their image size is exactly focal * size / distance. A camera jolt is a warp of the
rendered frame with motion blur; the hood is drawn after the warp because it is fixed to the camera.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import cv2
import numpy as np

from edge_agent.sample.plan import DrivePlan

CAM_HEIGHT_M = 1.3
LANE_M = 3.5
_SUB = 16  # cv2 drawing with shift=4: sub-pixel edges keep growth smooth frame to frame
_SHIFT = 4
_TEX = 256


def _smooth_texture(rng: np.random.Generator, size: int, blur: float) -> np.ndarray:
    """Gaussian-blurred noise that tiles seamlessly (blurred in the Fourier domain)."""
    fy, fx = np.fft.fftfreq(size)[:, None], np.fft.rfftfreq(size)[None, :]
    gain = np.exp(-2 * (np.pi * blur) ** 2 * (fx**2 + fy**2))
    tex = np.fft.irfft2(np.fft.rfft2(rng.standard_normal((size, size))) * gain, s=(size, size))
    return (tex / (tex.std() + 1e-9)).astype(np.float32)


class SceneRenderer:
    """Frame ``i`` of ``plan`` as a BGR uint8 array of ``height`` x ``width``."""

    def __init__(self, plan: DrivePlan, width: int, height: int, seed: int) -> None:
        self.plan = plan
        self.w, self.h = width, height
        self.f = 0.6 * width  # about 80 degrees horizontal field of view, a typical dashcam
        self.cx = width / 2
        self.horizon = 0.45 * height
        rng = np.random.default_rng(seed + 7919)
        self._background = self._paint_background(rng)
        self._init_ground(rng)
        self._objects = self._roadside_objects(rng)

    # -- static parts ---------------------------------------------------------------------------
    def _paint_background(self, rng: np.random.Generator) -> np.ndarray:
        rows = np.linspace(0.0, 1.0, self.h, dtype=np.float32)[:, None]
        top, low = np.array([190, 130, 80], np.float32), np.array([235, 215, 200], np.float32)
        sky = top + (low - top) * np.clip(rows / (self.horizon / self.h), 0, 1)[..., None]
        img = np.broadcast_to(sky, (self.h, self.w, 3)).copy()
        for _ in range(4):  # a few soft clouds
            c = (int(rng.uniform(0, self.w)), int(rng.uniform(0.05, 0.3) * self.h))
            axes = (int(rng.uniform(0.08, 0.2) * self.w), int(rng.uniform(0.02, 0.05) * self.h))
            cv2.ellipse(img, c, axes, 0, 0, 360, (245, 245, 245), -1)
        img = cv2.GaussianBlur(img, (0, 0), max(1.0, self.w / 200))
        # A jagged far tree line on the horizon: texture for global motion, as real horizons have.
        u = np.arange(self.w)
        ridge = np.cumsum(rng.standard_normal(self.w)) * 0.004 * self.h
        ridge = (
            self.horizon
            - 0.02 * self.h
            - (ridge - ridge.min()) * 0.5
            - 0.01 * self.h * np.sin(u / self.w * 9)
        )
        vv = np.arange(self.h)[:, None]
        hills = (vv >= ridge[None, :]) & (vv <= self.horizon + 0.02 * self.h)
        img[hills] = img[hills] * 0.35 + np.array([70, 95, 70], np.float32) * 0.65
        return img.astype(np.uint8)

    def _init_ground(self, rng: np.random.Generator) -> None:
        """Per-pixel world coordinates of the ground at half resolution; only the z offset moves."""
        wh, hh = self.w // 2, self.h // 2
        f, hor, cx = self.f / 2, self.horizon / 2, self.cx / 2
        self._g_row0 = int(math.floor(hor)) + 1
        v = np.arange(self._g_row0, hh, dtype=np.float32) + 0.5
        z = np.minimum(f * CAM_HEIGHT_M / (v - hor), 400.0)
        x = (np.arange(wh, dtype=np.float32)[None, :] + 0.5 - cx) * z[:, None] / f
        self._g_z = z
        self._g_xi = (np.floor(x * 5.0).astype(np.int64)) % _TEX
        self._tex = _smooth_texture(rng, _TEX, 1.2)
        road = np.abs(x) < 1.5 * LANE_M + 0.3
        base = np.where(
            road[..., None], np.array([88, 90, 92], np.float32), np.array([55, 120, 75], np.float32)
        )
        amp = np.where(road[..., None], np.array([5, 5, 5], np.float32), np.array([14, 26, 16], np.float32))
        haze = np.clip(z / 250.0, 0, 1)[:, None, None]
        haze_color = np.array([200, 195, 190], np.float32)
        self._g_base = base * (1 - haze) + haze_color * haze
        fade = np.clip(1.2 - z / 60.0, 0.2, 1.0)[:, None, None]  # far detail would only shimmer
        self._g_amp = amp * (1 - haze) * fade

    def _roadside_objects(self, rng: np.random.Generator) -> list[tuple[float, float, str, float]]:
        """(z along the road, x, kind, size) for poles and trees over the whole drive."""
        length = float(self.plan.ego_pos[-1]) + 300.0
        objects: list[tuple[float, float, str, float]] = []
        for side in (-1.0, 1.0):
            for z in np.arange(rng.uniform(5, 30), length, 30.0):
                objects.append((float(z), side * 7.5, "pole", 0.18))
            z = float(rng.uniform(0, 10))
            while z < length:
                objects.append(
                    (z, side * float(rng.uniform(9.0, 22.0)), "tree", float(rng.uniform(2.0, 4.5)))
                )
                z += float(rng.uniform(6.0, 18.0))
        return objects

    # -- projection -----------------------------------------------------------------------------
    def _pt(self, x: float, y: float, z: float) -> tuple[int, int]:
        """World (x right, y up, z ahead of the camera) to sub-pixel image coordinates for shift=4."""
        u = self.cx + self.f * x / z
        v = self.horizon + self.f * (CAM_HEIGHT_M - y) / z
        return int(round(u * _SUB)), int(round(v * _SUB))

    def _poly(self, img: np.ndarray, pts: list[tuple[float, float, float]], color: tuple[int, ...]) -> None:
        arr = np.array([self._pt(*p) for p in pts], np.int32)
        cv2.fillPoly(img, [arr], color, cv2.LINE_AA, _SHIFT)

    def _box(
        self, img: np.ndarray, x0: float, x1: float, y0: float, y1: float, z: float, color: tuple[int, ...]
    ) -> None:
        self._poly(img, [(x0, y0, z), (x1, y0, z), (x1, y1, z), (x0, y1, z)], color)

    # -- dynamic parts --------------------------------------------------------------------------
    def _draw_ground(self, img: np.ndarray, pos: float) -> None:
        zi = (np.floor((self._g_z + pos) * 3.0).astype(np.int64)) % _TEX
        tex = self._tex[zi[:, None], self._g_xi]
        ground = np.clip(self._g_base + tex[..., None] * self._g_amp, 0, 255).astype(np.uint8)
        y0 = self._g_row0 * 2
        img[y0:] = cv2.resize(ground, (self.w, self.h - y0), interpolation=cv2.INTER_LINEAR)

    def _draw_markings(self, img: np.ndarray, pos: float) -> None:
        white = (225, 228, 230)
        for x in (-1.5 * LANE_M, 1.5 * LANE_M):  # solid road edges
            self._poly(
                img,
                [(x - 0.08, 0, 1.0), (x + 0.08, 0, 1.0), (x + 0.08, 0, 250.0), (x - 0.08, 0, 250.0)],
                white,
            )
        first = math.floor(pos / 12.0) * 12.0
        for zw in np.arange(first, pos + 120.0, 12.0):  # 3 m dashes every 12 m
            z0, z1 = max(zw - pos, 1.0), zw + 3.0 - pos
            if z1 <= 1.0:
                continue
            for x in (-0.5 * LANE_M, 0.5 * LANE_M):
                self._poly(
                    img, [(x - 0.07, 0, z0), (x + 0.07, 0, z0), (x + 0.07, 0, z1), (x - 0.07, 0, z1)], white
                )

    def _draw_object(self, img: np.ndarray, x: float, z: float, kind: str, size: float) -> None:
        if kind == "pole":
            self._box(img, x - size / 2, x + size / 2, 0.0, 5.0, z, (150, 150, 155))
            self._box(img, x - 0.6, x + 0.6, 4.6, 5.0, z, (120, 120, 125))
            return
        self._box(img, x - 0.15, x + 0.15, 0.0, size * 0.5, z, (40, 60, 80))
        c = self._pt(x, size * 0.8, z)
        axes = (max(1, int(size * 0.45 * self.f / z * _SUB)), max(1, int(size * 0.5 * self.f / z * _SUB)))
        cv2.ellipse(img, c, axes, 0, 0, 360, (40, 90, 45), -1, cv2.LINE_AA, _SHIFT)

    def _draw_car(
        self, img: np.ndarray, x: float, z: float, color: tuple[int, int, int], braking: bool, truck: bool
    ) -> None:
        """A car (or box truck) seen from behind, its rear ``z`` metres ahead."""
        dark = tuple(int(c * 0.45) for c in color)
        c = self._pt(x, 0.0, z)
        shadow_axes = (
            int((1.4 if truck else 1.1) * self.f / z * _SUB),
            max(1, int(0.12 * self.f / z * _SUB)),
        )
        cv2.ellipse(img, c, shadow_axes, 0, 0, 360, (35, 35, 38), -1, cv2.LINE_AA, _SHIFT)
        half = 1.25 if truck else 0.9
        for sx in (-1, 1):
            self._box(img, x + sx * (half - 0.35), x + sx * (half - 0.05), 0.0, 0.38, z, (20, 20, 20))
        if truck:
            self._box(img, x - half, x + half, 0.45, 3.6, z, color)
            self._box(img, x - 0.02, x + 0.02, 0.5, 3.5, z, dark)
            self._box(img, x - half, x + half, 0.35, 0.5, z, (40, 40, 40))
        else:
            self._box(img, x - half, x + half, 0.28, 0.95, z, color)
            self._poly(
                img,
                [(x - 0.85, 0.95, z), (x + 0.85, 0.95, z), (x + 0.64, 1.45, z), (x - 0.64, 1.45, z)],
                color,
            )
            self._poly(
                img,
                [(x - 0.74, 1.0, z), (x + 0.74, 1.0, z), (x + 0.58, 1.38, z), (x - 0.58, 1.38, z)],
                (45, 38, 32),
            )
            self._box(img, x - 0.92, x + 0.92, 0.26, 0.4, z, dark)
            self._box(img, x - 0.26, x + 0.26, 0.46, 0.58, z, (225, 225, 225))
        light = (70, 70, 255) if braking else (40, 40, 150)
        ly = 0.55 if truck else 0.72
        for sx in (-1, 1):
            self._box(img, x + sx * (half - 0.3), x + sx * (half - 0.03), ly, ly + 0.14, z, light)
        if braking and not truck:
            self._box(img, x - 0.2, x + 0.2, 1.39, 1.44, z, (70, 70, 255))

    def _camera(self, img: np.ndarray, i: int) -> np.ndarray:
        p = self.plan
        dx, dy, roll = p.cam_dx[i] * self.w, p.cam_dy[i] * self.h, p.cam_roll[i]
        m = cv2.getRotationMatrix2D((self.cx, self.h / 2), math.degrees(roll), 1.0)
        m[0, 2] += dx
        m[1, 2] += dy
        out = cv2.warpAffine(img, m, (self.w, self.h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if i > 0:  # motion blur along the image shift of this exposure
            bx, by = dx - p.cam_dx[i - 1] * self.w, dy - p.cam_dy[i - 1] * self.h
            length = min(int(math.hypot(bx, by)), 41)
            if length >= 3:
                k = np.zeros((length | 1, length | 1), np.float32)
                r = (length | 1) // 2
                ux, uy = bx / math.hypot(bx, by), by / math.hypot(bx, by)
                cv2.line(k, (int(r - ux * r), int(r - uy * r)), (int(r + ux * r), int(r + uy * r)), 1.0, 1)
                out = cv2.filter2D(out, -1, k / k.sum())
        return out

    def _draw_hood(self, img: np.ndarray) -> None:
        u = np.linspace(0, self.w, 33)
        top = self.h * (0.93 + 0.04 * ((u - self.cx) / self.cx) ** 2)
        pts = np.concatenate([np.stack([u, top], 1), [[self.w, self.h], [0, self.h]]]) * _SUB
        cv2.fillPoly(img, [pts.astype(np.int32)], (38, 38, 42), cv2.LINE_AA, _SHIFT)
        cv2.polylines(
            img,
            [(np.stack([u, top + 2], 1) * _SUB).astype(np.int32)],
            False,
            (90, 90, 95),
            1,
            cv2.LINE_AA,
            _SHIFT,
        )

    def render(self, i: int) -> np.ndarray:
        p = self.plan
        t, pos = i / p.fps, float(p.ego_pos[i])
        img = self._background.copy()
        self._draw_ground(img, pos)
        self._draw_markings(img, pos)
        drawables: list[tuple[float, Callable[[np.ndarray], None]]] = []
        for zw, x, kind, size in self._objects:
            z = zw - pos
            if 1.5 < z < 160.0:
                drawables.append((z, partial(self._draw_object, x=x, z=z, kind=kind, size=size)))
        for car in p.passing:
            z = car.z0 + car.rel_speed * (t - car.t0)
            if t >= car.t0 and 2.5 < z < 150.0:
                draw = partial(
                    self._draw_car, x=car.lane_x, z=z, color=car.color, braking=False, truck=car.truck
                )
                drawables.append((z, draw))
        gap = float(p.lead_gap[i])
        lead = partial(
            self._draw_car,
            x=float(p.lead_lateral[i]),
            z=gap,
            color=p.lead_color,
            braking=bool(p.lead_braking[i]),
            truck=False,
        )
        drawables.append((gap, lead))
        for _, draw in sorted(drawables, key=lambda d: -d[0]):  # far to near, so near things occlude
            draw(img)
        img = self._camera(img, i)
        self._draw_hood(img)
        return img
