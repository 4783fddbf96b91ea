//! The samples behind one confusion-matrix cell, most confident first.

use crate::training::Evaluation;

/// Indices (into the scored split) of samples of class `truth` predicted as `predicted`, with the
/// model's confidence, sorted from most to least confident.
pub fn cell_members(evaluation: &Evaluation, labels: &[u32], truth: usize, predicted: usize) -> Vec<(usize, f32)> {
    let mut members: Vec<(usize, f32)> = evaluation
        .predictions
        .iter()
        .zip(labels)
        .enumerate()
        .filter(|(_, ((p, _), l))| **l as usize == truth && *p as usize == predicted)
        .map(|(i, ((_, confidence), _))| (i, *confidence))
        .collect();
    members.sort_by(|a, b| b.1.total_cmp(&a.1));
    members
}
