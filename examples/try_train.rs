use cnn_lab::experiment;
use cnn_lab::training::{Event, RunOptions, Trainer};
fn main() {
    let path = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    let exp = experiment::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let t = Trainer::spawn(
        exp,
        RunOptions {
            base_dir: path.parent().unwrap().into(),
            ..Default::default()
        },
    )
    .unwrap();
    let r = t.wait(|e| match e {
        Event::Epoch(r) => println!("{r:?}"),
        Event::Batch { .. } => {}
        other => println!("{other:?}"),
    });
    match r {
        Ok((_, s)) => println!("{s:?}"),
        Err(e) => println!("ERR {e}"),
    }
}
