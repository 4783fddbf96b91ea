//! What every inspection room provides ([`Room`]), what it is given while it draws, and its
//! entry in the list of rooms (`ROOMS` in `mod.rs`).

use super::lens::Lens;
use crate::data::Dataset;
use crate::experiment::Experiment;
use std::any::Any;
use std::sync::Arc;

/// One room: its place in the tabs and menus, and how to build it.
pub struct RoomEntry {
    /// The name on the command line (`--view feature-maps`).
    pub name: &'static str,
    /// Other names `--view` accepts.
    pub aliases: &'static [&'static str],
    /// The tab's and the View menu's label.
    pub title: &'static str,
    /// Builds the room; `None` for the model editor, which the app draws itself.
    pub make: Option<fn() -> Box<dyn Room>>,
}

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
