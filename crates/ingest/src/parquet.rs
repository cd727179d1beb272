//! Canonical Parquet: the canonical columns as UTF-8 text, as osecwatch writes them.

use crate::row::{deliver, map_columns, RowParser};
use crate::{clip, io, IngestError, IngestStats, Location, Visitor};
use osecwatch_model::CANONICAL_COLUMNS;
use std::fs::File;
use std::path::Path;

/// Read canonical Parquet: the canonical columns as UTF-8 text (as osecwatch writes them).
pub fn read_parquet(path: &Path, v: &mut dyn Visitor) -> Result<IngestStats, IngestError> {
    use arrow_array::{Array, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let fmt = |m: String| IngestError::Format { path: path.to_path_buf(), message: m };
    let file = File::open(path).map_err(io(path))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| fmt(format!("not a Parquet file: {e}")))?;
    let schema = builder.schema().clone();
    let pos = map_columns(path, schema.fields().iter().map(|f| f.name().as_str()))?;
    for (c, p) in pos.iter().enumerate() {
        if let Some(i) = p {
            if schema.field(*i).data_type() != &arrow_schema::DataType::Utf8 {
                return Err(fmt(format!(
                    "column `{}` is {}, expected UTF-8 text",
                    CANONICAL_COLUMNS[c],
                    schema.field(*i).data_type()
                )));
            }
        }
    }
    let reader = builder.build().map_err(|e| fmt(e.to_string()))?;
    let source = path.display().to_string();
    let mut stats = IngestStats::default();
    let mut parser = RowParser::default();
    let mut row_no = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| fmt(format!("after row {row_no}: {e}")))?;
        let cols: Vec<Option<&StringArray>> =
            pos.iter().map(|p| p.and_then(|i| batch.column(i).as_any().downcast_ref::<StringArray>())).collect();
        for r in 0..batch.num_rows() {
            row_no += 1;
            stats.read += 1;
            let mut f: [&str; 13] = [""; 13];
            for (c, col) in cols.iter().enumerate() {
                if let Some(col) = col {
                    if !col.is_null(r) {
                        f[c] = col.value(r);
                    }
                }
            }
            let n = row_no;
            let loc = || Location { source: source.clone(), position: format!("row {n}") };
            deliver(parser.parse(&f), &mut stats, v, &loc, || clip(&f.join(",")));
        }
    }
    Ok(stats)
}
