//! The inspection rooms: filters (kernels, their history, what they look for), feature maps (a
//! dataset browser or a drawing canvas as input, every layer's maps, where the model looks), and
//! mistakes (confusion matrix and the images behind each cell), listed once below.
//!
//! The rooms never compute on the UI thread beyond colouring small kernels: the model they look
//! at (`Lens`, `lens.rs`) is built by a background job from the document (or from the live
//! weights of a run), and feature maps, activation maximization and scoring run as jobs too
//! (`jobs.rs`). The `Inspector` (`inspector.rs`) keeps the lens in step and shows the chosen
//! room; `view.rs` names the rooms for the tabs, the View menu, the shortcuts and `--view`.

mod canvas;
pub mod closeup_panel;
pub mod colormap;
mod features_1d;
mod filters_1d;
mod inspector;
pub mod jobs;
mod labels;
mod lens;
mod maps;
mod room;
pub mod shift_panel;
mod sparkline;
mod view;

pub use features::InputSource;
pub use inspector::Inspector;
pub use lens::{Lens, ParamSlot, Weights, browse_split};
pub use room::{Navigate, Room, RoomContext, RoomEntry};
pub use view::View;

/// Declares each room's module and lists the rooms in tab order after the model editor, which
/// the app draws itself: `module::Type: "name", "title", aliases [..];`. `Type` implements
/// [`Room`] and `Default`.
macro_rules! rooms {
    ($( $module:ident :: $room:ident : $name:literal, $title:literal, aliases [$($alias:literal),*]; )+) => {
        $( mod $module; )+

        /// The rooms in tab order; the first (the model editor) opens by default. The tabs, the
        /// View menu, Ctrl+1…, `--view` and its help text all read this list.
        pub const ROOMS: &[RoomEntry] = &[
            RoomEntry {
                name: "model",
                aliases: &["editor"],
                title: "☰ Model",
                make: None,
            },
            $( RoomEntry {
                name: $name,
                aliases: &[$($alias),*],
                title: $title,
                make: Some(|| Box::<$module::$room>::default()),
            }, )+
        ];
    };
}

// A new room: its file, and one line here.
rooms! {
    filters::FiltersView: "filters", "🔍 Filters", aliases [];
    features::FeaturesView: "feature-maps", "🗺 Feature maps", aliases ["features", "maps"];
    mistakes::MistakesView: "mistakes", "❌ Mistakes", aliases ["confusion"];
}
