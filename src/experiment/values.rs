//! The ranges of the values a run depends on, checked before it starts: each number that is not
//! finite or not in range is named, with what it may be. (A NaN momentum or a zero decay factor
//! would otherwise train silently to nothing, or be blamed on the learning rate.)

use super::format::{Experiment, Training};
use crate::cnn::{LrSchedule, OptimizerKind};
use crate::data::Normalization;
use thiserror::Error;

/// `--epochs` and `epochs` beyond this are refused (a typo, or an overflow in the making).
pub const MAX_EPOCHS: usize = 1_000_000;

/// A value out of its range: the field, the value and the rule with an example.
#[derive(Clone, Debug, Error, PartialEq)]
#[error("{field} is {value}; {rule}")]
pub struct ValueError {
    pub field: String,
    pub value: String,
    pub rule: String,
}

fn refuse(field: &str, value: impl std::fmt::Display, rule: &str) -> ValueError {
    ValueError {
        field: field.into(),
        value: value.to_string(),
        rule: rule.into(),
    }
}

/// `value` finite and in `range` (`low_open`: the low end excluded), else the error.
fn within(field: &str, value: f32, low: f32, high: f32, low_open: bool, rule: &str) -> Result<(), ValueError> {
    let above_low = if low_open { value > low } else { value >= low };
    if value.is_finite() && above_low && value <= high {
        Ok(())
    } else {
        Err(refuse(field, value, rule))
    }
}

/// The numbers of the training settings besides those `Training::check` has always checked.
pub fn check_training(t: &Training) -> Result<(), ValueError> {
    if t.epochs > MAX_EPOCHS {
        return Err(refuse(
            "epochs",
            t.epochs,
            &format!("train for at most {MAX_EPOCHS} epochs"),
        ));
    }
    within(
        "weight_decay",
        t.weight_decay,
        0.0,
        0.5,
        false,
        "use 0 (off) or a small value such as 0.0001",
    )?;
    match &t.optimizer {
        OptimizerKind::SGD { momentum, .. } => within(
            "the SGD momentum",
            *momentum,
            0.0,
            0.999,
            false,
            "use a value from 0 to below 1, such as 0.9",
        )?,
        OptimizerKind::Adam {
            beta_1,
            beta_2,
            epsilon,
        } => {
            let rule = "use a value from 0 to below 1 (Keras: beta_1 0.9, beta_2 0.999)";
            within("Adam's beta_1", *beta_1, 0.0, 0.9999, false, rule)?;
            within("Adam's beta_2", *beta_2, 0.0, 0.99999, false, rule)?;
            within(
                "Adam's epsilon",
                *epsilon,
                0.0,
                1.0,
                true,
                "use a small positive value such as 1e-7",
            )?;
        }
    }
    match t.schedule {
        LrSchedule::Constant => {}
        LrSchedule::StepDecay { every_epochs, factor } => {
            if every_epochs == 0 {
                return Err(refuse("the StepDecay every_epochs", 0, "use at least 1, such as 10"));
            }
            within(
                "the StepDecay factor",
                factor,
                0.0,
                1.0,
                true,
                "use a fraction above 0 and at most 1, such as 0.5",
            )?;
        }
        LrSchedule::Cosine { final_fraction } => within(
            "the Cosine final_fraction",
            final_fraction,
            0.0,
            1.0,
            false,
            "use a fraction from 0 to 1, such as 0",
        )?,
    }
    if t.max_train_samples == Some(0) {
        return Err(refuse(
            "max_train_samples",
            0,
            "use at least 1, or remove it to train on all images",
        ));
    }
    if let Normalization::Standardize { mean, std } = &t.normalization {
        for (i, &m) in mean.iter().enumerate() {
            within(
                &format!("Standardize mean[{i}]"),
                m,
                -1e3,
                1e3,
                false,
                "use the channel's mean on the 0..1 scale, such as 0.5",
            )?;
        }
        for (i, &s) in std.iter().enumerate() {
            within(
                &format!("Standardize std[{i}]"),
                s,
                1e-3,
                1e3,
                false,
                "use the channel's spread on the 0..1 scale, at least 0.001, such as 0.25",
            )?;
        }
    }
    Ok(())
}

/// The values that depend on the rest of the experiment: the shift against the input, and the
/// saved position of a stopped run.
pub fn check_experiment(e: &Experiment) -> Result<(), ValueError> {
    let shift = e.training.augmentation.random_shift;
    let side = e.input.height.min(e.input.width);
    if shift > 0 && shift.saturating_mul(2) >= side {
        return Err(refuse(
            "augmentation random_shift",
            shift,
            &format!(
                "shifts of half the {side}-pixel image or more leave it mostly black; use a few pixels, such as 2"
            ),
        ));
    }
    let Some(resume) = e.resume.as_ref().filter(|_| e.weights.is_some()) else {
        return Ok(());
    };
    let fix = "the saved run cannot be resumed: train with --fresh, or remove the `resume` section";
    let done = e.history.len();
    if resume.epochs_done != done {
        return Err(refuse(
            "resume epochs_done",
            resume.epochs_done,
            &format!("the history holds {done} epochs; {fix}"),
        ));
    }
    if resume.last_epoch < done || resume.last_epoch - done > MAX_EPOCHS {
        return Err(refuse(
            "resume last_epoch",
            resume.last_epoch,
            &format!("it must lie between {done} and {done} + {MAX_EPOCHS}; {fix}"),
        ));
    }
    if let Some(p) = &resume.position {
        if p.epoch != done + 1 {
            return Err(refuse(
                "resume position epoch",
                p.epoch,
                &format!("the next epoch is {}; {fix}", done + 1),
            ));
        }
        let batch = e.training.batch_size.max(1);
        if p.correct > p.seen || p.seen > p.batches_done.saturating_mul(batch) {
            return Err(refuse(
                "resume position",
                format!("{} correct of {} seen in {} batches", p.correct, p.seen, p.batches_done),
                fix,
            ));
        }
        if !(p.loss_sum.is_finite() && p.loss_sum >= 0.0) {
            return Err(refuse("resume position loss_sum", p.loss_sum, fix));
        }
    }
    Ok(())
}
