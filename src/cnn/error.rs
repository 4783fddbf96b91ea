//! Typed engine errors: which layer, what it received, why it fails, how to fix it (an
//! architecture that cannot be built), and saved values that do not fit a model's parameters.

use super::LayerSpec;
use super::numbers::human_bytes;
use thiserror::Error;

/// A change the editor can apply with one click to repair an invalid model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuickFix {
    /// Set the padding of layer `index` to `same`.
    UsePaddingSame { index: usize },
    /// Insert a `Flatten` layer at position `index` (before the offending layer).
    InsertFlatten { index: usize },
    /// Remove layer `index`.
    RemoveLayer { index: usize },
    /// Set the units of the Dense layer `index`.
    SetUnits { index: usize, units: usize },
    /// Append `Flatten` + `Dense(units)` at the end of the model.
    AppendClassifier { units: usize },
    /// Set the window (`kernel_size` or `pool_size`, as `name` says) of layer `index` to `size`,
    /// the largest that fits its input.
    FitWindow {
        index: usize,
        name: &'static str,
        size: (usize, usize),
    },
    /// Move layer `from` to position `to` (before the Flatten at `to`).
    MoveBefore { from: usize, to: usize },
    /// Replace layer `index` by its twin of another dimension (`kind`, e.g. Conv1D for a Conv2D
    /// fed a sequence), keeping its settings (see `LayerSpec::twin`).
    UseKind { index: usize, kind: &'static str },
}

impl QuickFix {
    /// The button label shown next to the error.
    pub fn label(&self) -> String {
        match self {
            QuickFix::UsePaddingSame { .. } => "use padding 'same'".into(),
            QuickFix::InsertFlatten { .. } => "insert Flatten".into(),
            QuickFix::RemoveLayer { .. } => "remove this layer".into(),
            QuickFix::SetUnits { units, .. } => format!("set units to {units}"),
            QuickFix::AppendClassifier { units } => format!("append Flatten + Dense({units})"),
            QuickFix::FitWindow { name, size: (h, w), .. } => format!("use {name} {h}×{w}"),
            QuickFix::MoveBefore { to, .. } => format!("move it before Flatten (layer {})", to + 1),
            QuickFix::UseKind { kind, .. } => format!("use {kind} instead"),
        }
    }
}

/// Why a model cannot be built. Layer numbers in messages count from 1, as users do.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum ArchError {
    #[error("layer {} {kind}: {problem}; {fix}", index + 1)]
    Layer {
        /// 0-based position in the layer list.
        index: usize,
        kind: &'static str,
        problem: String,
        fix: String,
        /// One-click repairs, the main one first (padding `same`, then a kernel that fits).
        quick_fixes: Vec<QuickFix>,
    },
    #[error("the input shape {got} is invalid: {problem}; {fix}")]
    Input { got: String, problem: String, fix: String },
    #[error("the model has no layers; add Flatten and Dense({classes}) at least")]
    Empty { classes: usize },
    #[error("the model ends with {ends_with}, but the data has {classes} classes; {fix}")]
    Output {
        ends_with: String,
        classes: usize,
        fix: String,
        quick_fix: Option<QuickFix>,
    },
    #[error(
        "the model is too large: about {} needed ({what}), more than the {} allowed; {fix}",
        human_bytes(*needed_bytes),
        human_bytes(*limit_bytes)
    )]
    TooLarge {
        what: String,
        needed_bytes: u64,
        limit_bytes: u64,
        fix: String,
    },
}

impl ArchError {
    /// The 0-based index of the offending layer, if the error is about one layer.
    pub fn layer_index(&self) -> Option<usize> {
        match self {
            ArchError::Layer { index, .. } => Some(*index),
            _ => None,
        }
    }

    pub fn quick_fix(&self) -> Option<&QuickFix> {
        match self {
            ArchError::Layer { quick_fixes, .. } => quick_fixes.first(),
            ArchError::Output { quick_fix, .. } => quick_fix.as_ref(),
            _ => None,
        }
    }

    /// Every one-click repair, the main one first: the error's own, and for a layer that needs
    /// feature maps but comes after a Flatten, moving it before that Flatten.
    pub fn quick_fixes(&self, layers: &[LayerSpec]) -> Vec<QuickFix> {
        let mut fixes: Vec<QuickFix> = match self {
            ArchError::Layer { quick_fixes, .. } => quick_fixes.clone(),
            _ => self.quick_fix().into_iter().cloned().collect(),
        };
        if let (Some(QuickFix::RemoveLayer { index }), Some(from)) = (self.quick_fix(), self.layer_index())
            && let Some(flatten) = layers[..from.min(layers.len())]
                .iter()
                .rposition(|l| matches!(l, LayerSpec::Flatten(_)))
            && *index == from
        {
            fixes.insert(0, QuickFix::MoveBefore { from, to: flatten });
        }
        fixes
    }
}

/// Why [`Model::set_weights`](super::Model::set_weights) refused a set of parameter values.
/// Array numbers in messages count from 1.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum WeightsError {
    #[error("the model has {expected} weight arrays but {got} were given")]
    Count { expected: usize, got: usize },
    #[error("weight array {} ({name}) has {got} values, expected {expected}", index + 1)]
    Size {
        /// 0-based position in [`Model::params`](super::Model::params) order.
        index: usize,
        name: &'static str,
        got: usize,
        expected: usize,
    },
}
