//! The drawing behind [`SyntheticShapes`](super::SyntheticShapes): ten
//! shapes as distance functions, and a rasteriser that draws one shape with
//! random placement, size, aspect, rotation and stroke, then distractor
//! blobs and pixel noise, into a 28×28 image.

use rand::rngs::StdRng;
use rand::{Rng, RngCore};
use std::f32::consts::PI;

/// The most a shape's centre moves from the image centre, per axis, in pixels.
const MAX_SHIFT: f32 = 5.0;

/// Image side in pixels.
pub(super) const SIDE: usize = 28;

/// Class names, by label.
pub(super) const CLASSES: [&str; 10] = [
    "ring",
    "disk",
    "square",
    "filled square",
    "triangle",
    "cross",
    "plus",
    "L",
    "T",
    "line",
];

type P = (f32, f32);

fn length(p: P) -> f32 {
    (p.0 * p.0 + p.1 * p.1).sqrt()
}

/// Distance from `p` to the segment `a`–`b`.
fn segment(p: P, a: P, b: P) -> f32 {
    let (ab, ap) = ((b.0 - a.0, b.1 - a.1), (p.0 - a.0, p.1 - a.1));
    let t = ((ap.0 * ab.0 + ap.1 * ab.1) / (ab.0 * ab.0 + ab.1 * ab.1)).clamp(0.0, 1.0);
    length((ap.0 - t * ab.0, ap.1 - t * ab.1))
}

/// Signed distance to the square of half-side `h` (negative inside).
fn square(p: P, h: f32) -> f32 {
    let (dx, dy) = (p.0.abs() - h, p.1.abs() - h);
    length((dx.max(0.0), dy.max(0.0))) + dx.max(dy).min(0.0)
}

/// Distance from `p` (shape units, the shape spans about `[-1, 1]²`, y
/// pointing down) to the ink of `class`; 0 inside filled shapes.
fn distance(class: usize, p: P) -> f32 {
    const TRI: [P; 3] = [(0.0, -1.0), (0.866, 0.5), (-0.866, 0.5)];
    match class {
        0 => (length(p) - 1.0).abs(),
        1 => (length(p) - 1.0).max(0.0),
        2 => square(p, 0.85).abs(),
        3 => square(p, 0.85).max(0.0),
        4 => (0..3)
            .map(|i| segment(p, TRI[i], TRI[(i + 1) % 3]))
            .fold(f32::INFINITY, f32::min),
        // Arms 31° off horizontal, so no rotation turns it into a plus.
        5 => segment(p, (-1.0, -0.6), (1.0, 0.6)).min(segment(p, (-1.0, 0.6), (1.0, -0.6))),
        6 => segment(p, (-1.0, 0.0), (1.0, 0.0)).min(segment(p, (0.0, -1.0), (0.0, 1.0))),
        7 => segment(p, (-0.5, -1.0), (-0.5, 1.0)).min(segment(p, (-0.5, 1.0), (0.8, 1.0))),
        8 => segment(p, (-0.9, -1.0), (0.9, -1.0)).min(segment(p, (0.0, -1.0), (0.0, 1.0))),
        _ => segment(p, (-1.0, 0.0), (1.0, 0.0)),
    }
}

/// Draws a random instance of `class` into `img` (`SIDE * SIDE` pixels in
/// `[0, 1]`, every one overwritten), drawing all randomness from `rng`.
pub(super) fn draw(class: usize, rng: &mut StdRng, img: &mut [f32]) {
    let scale = rng.random_range(7.0f32..10.5);
    let aspect = rng.random_range(0.85f32..1.18);
    let (sx, sy) = (scale * aspect.sqrt(), scale / aspect.sqrt());
    let mid = SIDE as f32 / 2.0;
    let mut centre = || {
        let room = (mid - sx.max(sy) * 0.9).clamp(0.0, MAX_SHIFT);
        mid + rng.random_range(-room..=room)
    };
    let (cx, cy) = (centre(), centre());
    let angle = if class == 9 {
        rng.random_range(0.0..PI)
    } else {
        rng.random_range(-0.45f32..0.45)
    };
    let half_width = rng.random_range(1.0f32..2.2) / 2.0 + 0.5;
    let ink = rng.random_range(0.6f32..1.0);
    let (sin, cos) = angle.sin_cos();
    // Every shape lies within 1.4 shape units of its centre.
    let reach = 1.4 * sx.max(sy) + half_width;
    for (i, px) in img.iter_mut().enumerate() {
        let (dx, dy) = ((i % SIDE) as f32 + 0.5 - cx, (i / SIDE) as f32 + 0.5 - cy);
        if dx * dx + dy * dy > reach * reach {
            *px = 0.0;
            continue;
        }
        let local = ((cos * dx + sin * dy) / sx, (cos * dy - sin * dx) / sy);
        let d = distance(class, local) * scale;
        *px = ink * (half_width - d).clamp(0.0, 1.0);
    }
    for _ in 0..rng.random_range(0..=2) {
        blob(rng, img);
    }
    add_noise(rng, img);
}

/// A Gaussian blob of random place, radius and height, merged by maximum.
fn blob(rng: &mut StdRng, img: &mut [f32]) {
    let (bx, by) = (
        rng.random_range(0.0..SIDE as f32),
        rng.random_range(0.0..SIDE as f32),
    );
    let radius = rng.random_range(0.7f32..1.8);
    let height = rng.random_range(0.3f32..0.8);
    let span = (3.0 * radius).ceil() as isize;
    let clip = |c: f32, d: isize| (c as isize + d).clamp(0, SIDE as isize - 1) as usize;
    for y in clip(by, -span)..=clip(by, span) {
        for x in clip(bx, -span)..=clip(bx, span) {
            let d2 = (x as f32 + 0.5 - bx).powi(2) + (y as f32 + 0.5 - by).powi(2);
            let v = height * (-d2 / (2.0 * radius * radius)).exp();
            let px = &mut img[y * SIDE + x];
            *px = px.max(v);
        }
    }
}

/// Adds noise of a random level to every pixel and clamps to `[0, 1]`. The
/// noise is a sum of four 16-bit uniforms (close to Gaussian), one `u64`
/// per pixel.
fn add_noise(rng: &mut StdRng, img: &mut [f32]) {
    let sigma = rng.random_range(0.02f32..0.12);
    // Four U(0,1) sum to mean 2, variance 1/3.
    let unit = sigma * 3f32.sqrt() / 65536.0;
    for px in img.iter_mut() {
        let r = rng.next_u64();
        let sum = (r & 0xFFFF) + ((r >> 16) & 0xFFFF) + ((r >> 32) & 0xFFFF) + (r >> 48);
        *px = (*px + (sum as f32 - 2.0 * 65536.0) * unit).clamp(0.0, 1.0);
    }
}
