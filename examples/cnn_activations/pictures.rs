//! PNG pictures for the CNN example: a grid of feature maps and a loss
//! curve, drawn into 8-bit grayscale pixels and written with the `png`
//! crate.

use ferrograd::prelude::*;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// A grayscale image, row-major, 0 = black.
struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize, background: u8) -> Self {
        Canvas {
            width,
            height,
            pixels: vec![background; width * height],
        }
    }

    fn set(&mut self, x: usize, y: usize, value: u8) {
        if x < self.width && y < self.height {
            self.pixels[y * self.width + x] = value;
        }
    }

    /// A straight line from `a` to `b` (DDA), `value` colored.
    fn line(&mut self, a: (f64, f64), b: (f64, f64), value: u8) {
        let steps = (b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil().max(1.0) as usize;
        for s in 0..=steps {
            let t = s as f64 / steps as f64;
            let (x, y) = (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
            self.set(x.round() as usize, y.round() as usize, value);
        }
    }

    fn save(&self, path: &Path) -> Result<()> {
        let context = format!("writing {}", path.display());
        let file = File::create(path).map_err(|e| Error::io(context.clone(), e))?;
        let file = BufWriter::new(file);
        let mut encoder = png::Encoder::new(file, self.width as u32, self.height as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let png_error =
            |e: png::EncodingError| Error::io(context.clone(), std::io::Error::other(e));
        let mut writer = encoder.write_header().map_err(png_error)?;
        writer.write_image_data(&self.pixels).map_err(png_error)
    }
}

/// Writes the channels of `maps` (`[channels, h, w]`) side by side in a grid
/// of `columns`, each scaled to its own min..max and enlarged `zoom` times.
pub fn save_feature_maps(maps: &Tensor, columns: usize, zoom: usize, path: &Path) -> Result<()> {
    let (channels, h, w) = (maps.shape()[0], maps.shape()[1], maps.shape()[2]);
    let rows = channels.div_ceil(columns);
    let (tile_w, tile_h) = (w * zoom + 2, h * zoom + 2);
    let mut canvas = Canvas::new(columns * tile_w, rows * tile_h, 40);
    let values = maps.contiguous()?.to_vec::<f32>()?;
    for (c, plane) in values.chunks_exact(h * w).enumerate() {
        let lo = plane.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = plane.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let scale = if hi > lo { 255.0 / (hi - lo) } else { 0.0 };
        let (x0, y0) = ((c % columns) * tile_w + 1, (c / columns) * tile_h + 1);
        for (i, &v) in plane.iter().enumerate() {
            let shade = ((v - lo) * scale) as u8;
            for (dy, dx) in (0..zoom).flat_map(|dy| (0..zoom).map(move |dx| (dy, dx))) {
                canvas.set(x0 + (i % w) * zoom + dx, y0 + (i / w) * zoom + dy, shade);
            }
        }
    }
    canvas.save(path)
}

/// Writes `losses` as a dark line on white with axes, the first loss at the
/// top-left and zero at the bottom.
pub fn save_loss_curve(losses: &[f64], path: &Path) -> Result<()> {
    let (width, height, margin) = (800usize, 400usize, 30.0);
    let mut canvas = Canvas::new(width, height, 255);
    let (x_end, y_end) = (width as f64 - margin, height as f64 - margin);
    canvas.line((margin, margin), (margin, y_end), 120);
    canvas.line((margin, y_end), (x_end, y_end), 120);
    let top = losses.iter().copied().fold(f64::MIN_POSITIVE, f64::max);
    let point = |i: usize, loss: f64| {
        let x = margin + (x_end - margin) * i as f64 / (losses.len().max(2) - 1) as f64;
        (x, y_end - (y_end - margin) * (loss / top).clamp(0.0, 1.0))
    };
    for (i, pair) in losses.windows(2).enumerate() {
        canvas.line(point(i, pair[0]), point(i + 1, pair[1]), 0);
    }
    canvas.save(path)
}
