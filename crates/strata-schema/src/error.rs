use std::path::PathBuf;

/// Errors building the schema model or talking to the database about it.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no *.sql files in {0}; point --schema-dir at the schema/ folder of a Strata checkout")]
    NoFiles(PathBuf),
    #[error("{file}:{line}: cannot parse the DDL: {message}")]
    Parse {
        file: String,
        line: u64,
        message: String,
    },
    #[error("{file}:{line}: {message}")]
    Unsupported {
        file: String,
        line: u64,
        message: String,
    },
    #[error(
        "migration {name} was already applied with checksum {applied} but the file now has {current}; \
         applied migrations are immutable: put the change in a new file"
    )]
    EditedMigration {
        name: String,
        applied: String,
        current: String,
    },
    #[error("migration {name} failed and was rolled back: {source}")]
    MigrationFailed {
        name: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("database error: {0}")]
    Db(#[from] tokio_postgres::Error),
}
