//! What the feature-map view computes off the UI thread for one input: the prediction, every
//! layer's maps packed into one picture per layer, and the saliency or Grad-CAM overlay.

use super::colormap::{self, Scale};
use super::lens::Lens;
use crate::cnn::{Shape, Tensor};
use crate::inspect::{feature_maps, grad_cam, saliency};
use egui::{Color32, ColorImage};
use std::sync::Arc;

/// What explains the prediction over the input picture: nothing, the gradient of the class
/// score (saliency), or Grad-CAM on the last convolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Attribution {
    None,
    Saliency,
    #[default]
    GradCam,
}

#[derive(Clone, Debug, PartialEq)]
pub enum InputKey {
    Sample(usize),
    Drawing(u64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct RequestKey {
    pub lens: u64,
    pub input: InputKey,
    pub attribution: Attribution,
    pub target: Option<usize>,
    pub cam_layer: Option<usize>,
}

pub struct Request {
    pub key: RequestKey,
    pub lens: Arc<Lens>,
    pub pixels: Vec<u8>,
}

/// One layer's maps as a single picture (an atlas of tiles).
pub struct LayerMaps {
    pub layer: usize,
    pub label: String,
    /// Tiles across, tile size (w, h), number of tiles.
    pub columns: usize,
    pub tile: [usize; 2],
    pub count: usize,
    pub atlas: ColorImage,
    pub scale: Scale,
    /// The layer's values (C·H·W, or the flat vector), for read-outs.
    pub values: Vec<f32>,
    pub image: bool,
}

pub struct Computed {
    pub input: ColorImage,
    pub probs: Vec<f32>,
    pub layers: Vec<LayerMaps>,
    pub heat: Option<ColorImage>,
    /// The class the attribution explains.
    pub target: usize,
    pub attribution_note: Option<String>,
}

impl Computed {
    /// The value the maps show for `t` (what the close-up must arrive at).
    pub fn value_at(&self, t: crate::inspect::Target) -> Option<f32> {
        let maps = self.layers.iter().find(|m| m.layer == t.layer)?;
        let [tw, th] = maps.tile;
        let i = if maps.image {
            (t.channel * th + t.row) * tw + t.col
        } else {
            t.channel
        };
        maps.values.get(i).copied()
    }
}

/// Background pixels between tiles of an atlas.
pub const GAP: usize = 1;

pub fn argmax(values: &[f32]) -> Option<usize> {
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
}

/// The attribution map as a translucent warm overlay (transparent where it is 0).
fn heat_image(heat: &[f32], w: usize, h: usize) -> ColorImage {
    let pixels = heat
        .iter()
        .take(w * h)
        .map(|&t| {
            let t = t.clamp(0.0, 1.0);
            let [r, g, b, _] = Scale {
                map: colormap::Map::Viridis,
                lo: 0.0,
                hi: 1.0,
            }
            .color(0.35 + 0.65 * t)
            .to_array();
            let r = r.max((255.0 * t) as u8);
            Color32::from_rgba_unmultiplied(r, g, b, (t.powf(0.8) * 255.0) as u8)
        })
        .collect();
    ColorImage::new([w, h], pixels)
}

/// Everything the view shows for one input, off the UI thread.
pub fn compute(request: Request) -> anyhow::Result<Computed> {
    let lens = &request.lens;
    let mut model = lens.model()?;
    let x = lens.input_from_pixels(&request.pixels);
    let acts = feature_maps(&mut model, &x);
    let probs = model.predict_proba(&x).sample(0).to_vec();
    let predicted = argmax(&probs).unwrap_or(0);
    let target = request.key.target.filter(|&t| t < probs.len()).unwrap_or(predicted);
    let (c, h, w) = (lens.input.channels(), lens.input.spatial().0, lens.input.spatial().1);
    let input = colormap::pixels_image(&request.pixels, c, h, w);
    let mut note = None;
    let heat = match request.key.attribution {
        Attribution::None => None,
        Attribution::Saliency => Some(saliency(&mut model, &x, target)),
        Attribution::GradCam => {
            let layer = request.key.cam_layer.filter(|&l| l < lens.specs.len()).or_else(|| {
                (0..lens.specs.len())
                    .rev()
                    .find(|&l| lens.infos.get(l).is_some_and(|i| i.output.is_image()))
            });
            match layer.and_then(|l| grad_cam(&mut model, &x, target, l)) {
                Some(cam) if cam.iter().any(|&v| v > 0.0) => Some(cam),
                Some(_) => {
                    note = Some("Grad-CAM is zero everywhere: no map of that layer raises this class's score.".into());
                    None
                }
                None => {
                    note = Some("Grad-CAM needs a layer with feature maps.".into());
                    None
                }
            }
        }
    };
    let heat = heat.map(|m| heat_image(&m, w, h));
    let layers = lens
        .specs
        .iter()
        .enumerate()
        .filter(|(_, spec)| !spec.config().passes_values_through())
        .filter_map(|(l, _)| acts.get(l + 1).map(|a| layer_maps(lens, l, a)))
        .collect();
    Ok(Computed {
        input,
        probs,
        layers,
        heat,
        target,
        attribution_note: note,
    })
}

/// One layer's output as an atlas: a tile per feature map, or the flat vector as rows of 32.
fn layer_maps(lens: &Lens, layer: usize, act: &Tensor) -> LayerMaps {
    let values = act.sample(0).to_vec();
    let scale = Scale::sequential(values.iter().copied());
    let background = Color32::from_gray(40);
    match act.shape() {
        shape @ (Shape::Image { .. } | Shape::Sequence { .. }) => {
            // A sequence is drawn as one strip per channel.
            let (c, (h, w)) = (shape.channels(), shape.spatial());
            let tiles: Vec<ColorImage> = values.chunks_exact(h * w).map(|p| scale.image(p, w, h)).collect();
            // Roughly twice as wide as tall.
            let columns = ((2.0 * c as f32).sqrt().ceil() as usize).clamp(4, 16).min(c.max(1));
            LayerMaps {
                layer,
                label: lens.layer_label(layer),
                columns,
                tile: [w, h],
                count: c,
                atlas: colormap::atlas(&tiles, columns, GAP, background),
                scale,
                values,
                image: true,
            }
        }
        Shape::Flat { features } => {
            let columns = features.clamp(1, 32);
            let rows = features.div_ceil(columns);
            let mut pixels: Vec<Color32> = values.iter().map(|&v| scale.color(v)).collect();
            pixels.resize(columns * rows, background);
            LayerMaps {
                layer,
                label: lens.layer_label(layer),
                columns: 1,
                tile: [columns, rows],
                count: 1,
                atlas: ColorImage::new([columns, rows], pixels),
                scale,
                values,
                image: false,
            }
        }
    }
}
