//! A digit drawn with the mouse, converted the way MNIST digits were made: the ink's bounding box
//! scaled (keeping its aspect) to fit 20×20, then placed in 28×28 with its centre of mass at the
//! centre.

/// `canvas` is `width`×`height` ink values in 0..=1 (1 = ink). Returns 28×28 values in 0..=1.
pub fn mnist_preprocess(canvas: &[f32], width: usize, height: usize) -> Vec<f32> {
    const SIDE: usize = 28;
    const BOX: f32 = 20.0;
    let mut out = vec![0.0f32; SIDE * SIDE];
    if canvas.len() < width * height || width == 0 || height == 0 {
        return out;
    }
    let ink = |x: usize, y: usize| canvas[y * width + x];
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..height {
        for x in 0..width {
            if ink(x, y) > 0.05 {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    if x0 == usize::MAX {
        return out;
    }
    let (bw, bh) = ((x1 - x0 + 1) as f32, (y1 - y0 + 1) as f32);
    let scale = BOX / bw.max(bh);
    let (sw, sh) = (
        ((bw * scale).round() as usize).max(1),
        ((bh * scale).round() as usize).max(1),
    );
    // Area-average resample of the bounding box to sw×sh (anti-aliased, like MNIST's strokes).
    let mut small = vec![0.0f32; sw * sh];
    for sy in 0..sh {
        let (fy0, fy1) = (y0 as f32 + sy as f32 / scale, y0 as f32 + (sy + 1) as f32 / scale);
        for sx in 0..sw {
            let (fx0, fx1) = (x0 as f32 + sx as f32 / scale, x0 as f32 + (sx + 1) as f32 / scale);
            let (mut sum, mut area) = (0.0, 0.0);
            for y in (fy0.floor() as usize)..(fy1.ceil() as usize).min(height) {
                let cover_y = (fy1.min(y as f32 + 1.0) - fy0.max(y as f32)).max(0.0);
                for x in (fx0.floor() as usize)..(fx1.ceil() as usize).min(width) {
                    let cover = cover_y * (fx1.min(x as f32 + 1.0) - fx0.max(x as f32)).max(0.0);
                    sum += ink(x, y) * cover;
                    area += cover;
                }
            }
            small[sy * sw + sx] = if area > 0.0 { (sum / area).clamp(0.0, 1.0) } else { 0.0 };
        }
    }
    // Centre of mass → the middle of the 28×28 frame (kept inside it).
    let total: f32 = small.iter().sum();
    let (mut cy, mut cx) = (sh as f32 / 2.0, sw as f32 / 2.0);
    if total > 0.0 {
        cy = small.iter().enumerate().map(|(i, v)| (i / sw) as f32 * v).sum::<f32>() / total + 0.5;
        cx = small.iter().enumerate().map(|(i, v)| (i % sw) as f32 * v).sum::<f32>() / total + 0.5;
    }
    let place = |c: f32, size: usize| {
        ((SIDE as f32 / 2.0 - c).round() as isize).clamp(0, (SIDE - size.min(SIDE)) as isize) as usize
    };
    let (oy, ox) = (place(cy, sh), place(cx, sw));
    for y in 0..sh.min(SIDE) {
        for x in 0..sw.min(SIDE) {
            out[(oy + y) * SIDE + ox + x] = small[y * sw + x];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stroke_in_a_corner_is_scaled_to_20_pixels_and_centred() {
        // A vertical bar 40 px tall, 8 px wide, in the top-left of a 200×200 canvas.
        let (w, h) = (200, 200);
        let mut canvas = vec![0.0; w * h];
        for y in 10..50 {
            for x in 10..18 {
                canvas[y * w + x] = 1.0;
            }
        }
        let img = mnist_preprocess(&canvas, w, h);
        let rows: Vec<usize> = (0..28).filter(|y| (0..28).any(|x| img[y * 28 + x] > 0.5)).collect();
        let cols: Vec<usize> = (0..28).filter(|x| (0..28).any(|y| img[y * 28 + x] > 0.5)).collect();
        assert_eq!(rows.len(), 20, "scaled to 20 rows: {rows:?}");
        assert_eq!(cols.len(), 4, "aspect kept: 8/40·20 = 4 columns: {cols:?}");
        assert_eq!((rows[0], rows[19]), (4, 23), "vertically centred");
        assert_eq!((cols[0], cols[3]), (12, 15), "horizontally centred");
        assert!(mnist_preprocess(&vec![0.0; w * h], w, h).iter().all(|v| *v == 0.0));
    }
}
