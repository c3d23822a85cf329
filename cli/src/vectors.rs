//! `vectors`: regenerate the cross-language test vectors from the core.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::output::Output;
use crate::status::{CliError, CliResult, Status};

#[derive(Args, Debug)]
pub struct VectorsArgs {
    /// The directory to write the vector files into (normally `vectors/`)
    #[arg(long, default_value = "vectors")]
    pub dir: PathBuf,
}

pub fn run(args: &VectorsArgs, out: &mut Output) -> CliResult<()> {
    if !args.dir.is_dir() {
        return Err(CliError::new(Status::NotFound, format!("{} is not a directory", args.dir.display())));
    }
    charter_vectors::write_all(&args.dir)
        .map_err(|e| CliError::new(Status::Io, format!("writing into {}: {e}", args.dir.display())))?;
    let names: Vec<&str> = charter_vectors::generate().iter().map(|(name, _)| *name).collect();
    out.emit(
        &format!("wrote {} into {}\n", names.join(", "), args.dir.display()),
        &json!({ "dir": args.dir.display().to_string(), "files": names }),
    )
}
