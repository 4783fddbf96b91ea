//! Colour maps for weights and activations, and the colour bar that shows their scale.
//! Weights use a diverging map (blue = negative, white = 0, red = positive) on a symmetric scale,
//! so a kernel's sign pattern reads at a glance; activations use viridis (dark = low).

use egui::{Color32, ColorImage, Pos2, Rect, Sense, Stroke, Ui, pos2, vec2};

/// Piecewise-linear colour map through evenly spaced stops.
fn ramp(stops: &[[u8; 3]], t: f32) -> Color32 {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let pos = t * (stops.len() - 1) as f32;
    let i = (pos.floor() as usize).min(stops.len() - 2);
    let f = pos - i as f32;
    let mix = |a: u8, b: u8| (a as f32 + (b as f32 - a as f32) * f).round() as u8;
    let (a, b) = (stops[i], stops[i + 1]);
    Color32::from_rgb(mix(a[0], b[0]), mix(a[1], b[1]), mix(a[2], b[2]))
}

/// ColorBrewer RdBu, reversed: −1 blue, 0 white, +1 red.
const DIVERGING: [[u8; 3]; 7] = [
    [33, 102, 172],
    [103, 169, 207],
    [209, 229, 240],
    [247, 247, 247],
    [253, 219, 199],
    [239, 138, 98],
    [178, 24, 43],
];

/// matplotlib's viridis, 9 stops.
const VIRIDIS: [[u8; 3]; 9] = [
    [68, 1, 84],
    [72, 40, 120],
    [62, 73, 137],
    [49, 104, 142],
    [38, 130, 142],
    [31, 158, 137],
    [53, 183, 121],
    [109, 205, 89],
    [253, 231, 37],
];

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Map {
    /// Symmetric around zero: values in −scale..=scale.
    Diverging,
    /// Values in lo..=hi.
    Viridis,
}

/// How values become colours: a map and its range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    pub map: Map,
    pub lo: f32,
    pub hi: f32,
}

impl Scale {
    /// A diverging scale ±(largest magnitude in `values`).
    pub fn symmetric(values: impl IntoIterator<Item = f32>) -> Self {
        let m = values
            .into_iter()
            .filter(|v| v.is_finite())
            .fold(0.0f32, |m, v| m.max(v.abs()));
        let m = if m > 0.0 { m } else { 1.0 };
        Scale {
            map: Map::Diverging,
            lo: -m,
            hi: m,
        }
    }

    /// A viridis scale over the range of `values` (a constant map gets a unit range).
    pub fn sequential(values: impl IntoIterator<Item = f32>) -> Self {
        let (lo, hi) = values
            .into_iter()
            .filter(|v| v.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (lo, hi) = if lo.is_finite() && hi > lo {
            (lo, hi)
        } else if lo.is_finite() {
            (lo, lo + 1.0)
        } else {
            (0.0, 1.0)
        };
        Scale {
            map: Map::Viridis,
            lo,
            hi,
        }
    }

    /// Position of `v` on the scale, 0..=1.
    pub fn unit(&self, v: f32) -> f32 {
        (v - self.lo) / (self.hi - self.lo)
    }

    pub fn color(&self, v: f32) -> Color32 {
        let t = self.unit(v);
        match self.map {
            Map::Diverging => ramp(&DIVERGING, t),
            Map::Viridis => ramp(&VIRIDIS, t),
        }
    }

    /// An h×w plane of values as an image.
    pub fn image(&self, plane: &[f32], w: usize, h: usize) -> ColorImage {
        let pixels = plane.iter().take(w * h).map(|&v| self.color(v)).collect();
        ColorImage::new([w, h], pixels)
    }
}

/// Three planes of a (3, H, W) kernel or image as an RGB picture, each centred on grey and
/// stretched by `scale` (the largest magnitude): how RGB first-layer filters are usually shown.
pub fn rgb_image(chw: &[f32], w: usize, h: usize, scale: f32, centred: bool) -> ColorImage {
    let plane = w * h;
    let scale = if scale > 0.0 && scale.is_finite() { scale } else { 1.0 };
    let to_byte = |v: f32| {
        let t = if centred { 0.5 + 0.5 * v / scale } else { v / scale };
        (t.clamp(0.0, 1.0) * 255.0).round() as u8
    };
    let pixels = (0..plane)
        .map(|i| {
            let c = |k: usize| chw.get(k * plane + i).copied().map_or(0, to_byte);
            Color32::from_rgb(c(0), c(1), c(2))
        })
        .collect();
    ColorImage::new([w, h], pixels)
}

/// u8 CHW pixels (1 or 3 channels) as a picture.
pub fn pixels_image(pixels: &[u8], c: usize, h: usize, w: usize) -> ColorImage {
    let plane = h * w;
    let at = |i: usize| pixels.get(i).copied().unwrap_or(0);
    let colors = (0..plane)
        .map(|i| {
            if c >= 3 {
                Color32::from_rgb(at(i), at(plane + i), at(2 * plane + i))
            } else {
                Color32::from_gray(at(i))
            }
        })
        .collect();
    ColorImage::new([w, h], colors)
}

/// Grey levels from values in lo..=hi (for input images).
pub fn grey_image(plane: &[f32], w: usize, h: usize, lo: f32, hi: f32) -> ColorImage {
    let span = if hi > lo { hi - lo } else { 1.0 };
    let pixels = plane
        .iter()
        .take(w * h)
        .map(|&v| Color32::from_gray((((v - lo) / span).clamp(0.0, 1.0) * 255.0).round() as u8))
        .collect();
    ColorImage::new([w, h], pixels)
}

/// Lays `tiles` (each w×h) out in a grid of `columns`, with `gap` background pixels between them:
/// one texture for a whole layer of maps.
pub fn atlas(tiles: &[ColorImage], columns: usize, gap: usize, background: Color32) -> ColorImage {
    let Some(first) = tiles.first() else {
        return ColorImage::new([1, 1], vec![background]);
    };
    let [w, h] = first.size;
    let columns = columns.clamp(1, tiles.len());
    let rows = tiles.len().div_ceil(columns);
    let (aw, ah) = (columns * (w + gap) - gap, rows * (h + gap) - gap);
    let mut pixels = vec![background; aw * ah];
    for (i, tile) in tiles.iter().enumerate() {
        let (ox, oy) = ((i % columns) * (w + gap), (i / columns) * (h + gap));
        for y in 0..h.min(tile.size[1]) {
            let row = &tile.pixels[y * tile.size[0]..y * tile.size[0] + w.min(tile.size[0])];
            pixels[(oy + y) * aw + ox..(oy + y) * aw + ox + row.len()].copy_from_slice(row);
        }
    }
    ColorImage::new([aw, ah], pixels)
}

/// A horizontal colour bar with its end and middle values, matplotlib style.
pub fn colorbar(ui: &mut Ui, scale: &Scale, width: f32, caption: &str) {
    let (rect, _) = ui.allocate_exact_size(vec2(width, 30.0), Sense::hover());
    let bar = Rect::from_min_size(rect.min, vec2(width, 12.0));
    let painter = ui.painter_at(rect.expand(2.0));
    let steps = 48;
    let mut mesh = egui::Mesh::default();
    for s in 0..=steps {
        let t = s as f32 / steps as f32;
        let x = bar.left() + t * bar.width();
        let color = scale.color(scale.lo + t * (scale.hi - scale.lo));
        mesh.colored_vertex(pos2(x, bar.top()), color);
        mesh.colored_vertex(pos2(x, bar.bottom()), color);
        if s > 0 {
            let i = 2 * s as u32;
            mesh.add_triangle(i - 2, i - 1, i);
            mesh.add_triangle(i - 1, i, i + 1);
        }
    }
    painter.add(mesh);
    let text_color = ui.visuals().text_color();
    painter.rect_stroke(
        bar,
        0.0,
        Stroke::new(1.0, text_color.gamma_multiply(0.5)),
        egui::StrokeKind::Outside,
    );
    let font = egui::FontId::proportional(10.5);
    let label = |x: f32, align: egui::Align2, v: f32| {
        painter.text(
            Pos2::new(x, bar.bottom() + 2.0),
            align,
            format_value(v),
            font.clone(),
            text_color,
        );
    };
    label(bar.left(), egui::Align2::LEFT_TOP, scale.lo);
    label(bar.center().x, egui::Align2::CENTER_TOP, 0.5 * (scale.lo + scale.hi));
    label(bar.right(), egui::Align2::RIGHT_TOP, scale.hi);
    if !caption.is_empty() {
        ui.label(egui::RichText::new(caption).small().weak());
    }
}

/// Short, readable numbers for scales and read-outs.
/// One colour per series (run, model) in figures that compare them: distinct, readable on light
/// and dark backgrounds.
pub fn series_color(n: usize) -> Color32 {
    const SERIES: [Color32; 6] = [
        Color32::from_rgb(37, 99, 235),
        Color32::from_rgb(234, 88, 12),
        Color32::from_rgb(22, 163, 74),
        Color32::from_rgb(190, 24, 93),
        Color32::from_rgb(124, 58, 237),
        Color32::from_rgb(100, 116, 139),
    ];
    SERIES[n % SERIES.len()]
}

pub fn format_value(v: f32) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e4).contains(&a) {
        format!("{v:.2e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// The whole texture, in texture coordinates (for `Painter::image`).
pub fn unit_rect() -> egui::Rect {
    egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diverging_is_white_at_zero_and_saturates_at_the_ends() {
        let s = Scale::symmetric([-2.0, 0.5, 1.0]);
        assert_eq!((s.lo, s.hi), (-2.0, 2.0));
        assert_eq!(s.color(0.0), Color32::from_rgb(247, 247, 247));
        assert_eq!(s.color(-2.0), Color32::from_rgb(33, 102, 172));
        assert_eq!(s.color(5.0), Color32::from_rgb(178, 24, 43));
    }

    #[test]
    fn atlas_places_tiles_row_by_row() {
        let red = ColorImage::new([2, 1], vec![Color32::RED; 2]);
        let blue = ColorImage::new([2, 1], vec![Color32::BLUE; 2]);
        let a = atlas(&[red.clone(), blue, red], 2, 1, Color32::BLACK);
        assert_eq!(a.size, [5, 3]);
        assert_eq!(a.pixels[3], Color32::BLUE);
        assert_eq!(a.pixels[5 * 2], Color32::RED);
        assert_eq!(a.pixels[2], Color32::BLACK);
    }
}
