//! One set of pipelines per data directory: two would share consumer names, and each would move
//! the other's read cursor. The OS releases the lock when the process dies, so a crash never
//! leaves it stale.

use std::{
    fs::{File, OpenOptions},
    io::{Read, Seek, Write},
    path::{Path, PathBuf},
};

use crate::error::{PipelineError, Result};

/// Held while the pipelines of a data directory run.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes `<data_dir>/pipelines.lock`, or says which process holds it.
    pub fn acquire(data_dir: &Path) -> Result<RunLock> {
        let io = |path: &Path, source| PipelineError::Io {
            path: path.to_owned(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(|e| io(data_dir, e))?;
        let path = data_dir.join("pipelines.lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        if file.try_lock().is_err() {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(PipelineError::Locked {
                path,
                pid: text.trim().parse().ok(),
            });
        }
        // The holder's pid, for the message a second process prints; best effort.
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "{}", std::process::id());
        let _ = file.flush();
        Ok(RunLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
