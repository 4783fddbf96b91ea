//! What every inspection room provides ([`Room`]), and what it is given while it draws. The
//! rooms are listed in `view.rs`.

use super::lens::Lens;
use crate::data::Dataset;
use crate::experiment::Experiment;
use std::any::Any;
use std::sync::Arc;

/// What a room is given while it draws.
pub struct RoomContext<'a> {
    pub lens: &'a Arc<Lens>,
    /// The data the rooms browse and score, once loaded.
    pub dataset: Option<&'a Arc<Dataset>>,
    pub experiment: &'a Experiment,
    /// `--screenshot --view`: show the room off (maximize the filters, draw a digit, open the
    /// most-confused cell) as soon as it can.
    pub showcase: bool,
}

/// An inspection room of the central area.
pub trait Room: Any {
    /// Whether work is still under way (screenshots wait for it); with `showcase`, including
    /// the show-off.
    fn busy(&self, showcase: bool) -> bool;

    /// Draws the room; may ask to go to another room.
    fn ui(&mut self, ui: &mut egui::Ui, at: RoomContext<'_>) -> Option<Navigate>;

    /// Shows sample `index` of the browsed split, as another room asked; `false` if this room
    /// does not show samples.
    fn open_sample(&mut self, _index: usize) -> bool {
        false
    }

    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// A request from one room to another (a gallery image opened in the feature-map room).
pub enum Navigate {
    Sample { room: &'static str, index: usize },
}
