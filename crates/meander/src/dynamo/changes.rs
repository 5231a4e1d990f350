//! What a batch of stream records becomes: changelog rows (append mode) or
//! the latest change per key (upsert mode). Pure planning, no I/O.

use std::collections::{BTreeMap, HashSet};

use deltalake::kernel::DataType;

use super::attr::{dynamodb_json_object, Item};
use super::record::{EventName, RecordError, StreamRecord};
use super::typing::{Cell, MetaColumn, RowIn};

/// `INSERT`, `MODIFY` or `REMOVE` (append mode).
pub const OP_COLUMN: &str = "_op";
/// The record's `SequenceNumber`, zero-padded to 40 digits.
pub const SEQ_COLUMN: &str = "_seq";
/// `ApproximateCreationDateTime` as a timestamp.
pub const TS_COLUMN: &str = "_ts";
/// The record's `eventID` (append mode).
pub const EVENT_ID_COLUMN: &str = "_event_id";
/// The MERGE source's delete flag (upsert mode; never a table column).
pub const DELETED_COLUMN: &str = "_deleted";

/// The columns every changelog row starts with.
pub fn changelog_columns() -> Vec<MetaColumn> {
    vec![
        MetaColumn {
            name: OP_COLUMN,
            data_type: DataType::STRING,
        },
        MetaColumn {
            name: SEQ_COLUMN,
            data_type: DataType::STRING,
        },
        MetaColumn {
            name: TS_COLUMN,
            data_type: DataType::TIMESTAMP,
        },
        MetaColumn {
            name: EVENT_ID_COLUMN,
            data_type: DataType::STRING,
        },
    ]
}

/// The columns every mirror row starts with.
pub fn mirror_columns() -> Vec<MetaColumn> {
    vec![
        MetaColumn {
            name: SEQ_COLUMN,
            data_type: DataType::STRING,
        },
        MetaColumn {
            name: TS_COLUMN,
            data_type: DataType::TIMESTAMP,
        },
    ]
}

/// What identifies a changelog row: the padded sequence number and the
/// event id (sequence numbers alone repeat across tables in emulators).
pub fn row_id(seq_padded: &str, event_id: Option<&str>) -> String {
    format!("{seq_padded}|{}", event_id.unwrap_or_default())
}

fn timestamp(micros: Option<i64>) -> Cell {
    micros.map(Cell::Timestamp).unwrap_or(Cell::Null)
}

/// One changelog row.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangelogRow {
    /// The record's position in the event.
    pub record_index: usize,
    /// [`row_id`] of the row.
    pub id: String,
    /// The padded sequence number.
    pub seq: String,
    /// Values of [`changelog_columns`].
    pub meta: Vec<Cell>,
    pub item: Item,
}

/// One row per record, records repeated within the batch (same sequence
/// number and event id) once.
pub fn changelog_rows(records: &[StreamRecord]) -> Vec<ChangelogRow> {
    let mut seen = HashSet::new();
    records
        .iter()
        .filter_map(|r| {
            let seq = r.sequence_number.padded().to_string();
            let id = row_id(&seq, r.event_id.as_deref());
            if !seen.insert(id.clone()) {
                return None;
            }
            Some(ChangelogRow {
                record_index: r.index,
                meta: vec![
                    Cell::Str(r.event_name.as_str().to_string()),
                    Cell::Str(seq.clone()),
                    timestamp(r.created_micros),
                    r.event_id.clone().map(Cell::Str).unwrap_or(Cell::Null),
                ],
                id,
                seq,
                item: r.changelog_image(),
            })
        })
        .collect()
}

/// The latest change of one key.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorRow {
    /// Position of the winning record in the event.
    pub record_index: usize,
    /// The key attributes in DynamoDB JSON (the grouping key).
    pub key: String,
    pub seq: String,
    /// Values of [`mirror_columns`].
    pub meta: Vec<Cell>,
    /// The item after the change (the keys alone for REMOVE).
    pub item: Item,
    pub deleted: bool,
}

/// Upsert mode's plan of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorPlan {
    /// The key attribute names (the first record's `Keys`), sorted.
    pub key_names: Vec<String>,
    /// One row per key, in the order keys first appear.
    pub rows: Vec<MirrorRow>,
    /// Records considered (those before `failure`).
    pub records: usize,
    /// The first record that cannot be mirrored, with why.
    pub failure: Option<(usize, RecordError)>,
}

/// The latest change per key of the records before the first one that
/// cannot be mirrored (no NewImage for INSERT/MODIFY, or other key
/// attributes than the first record's).
pub fn mirror_rows(records: &[StreamRecord]) -> MirrorPlan {
    let key_names: Vec<String> = records
        .first()
        .map(|r| r.keys.keys().cloned().collect())
        .unwrap_or_default();
    let mut latest: BTreeMap<String, MirrorRow> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut failure = None;
    let mut considered = 0;
    for r in records {
        let same_keys =
            r.keys.len() == key_names.len() && key_names.iter().all(|k| r.keys.contains_key(k));
        if !same_keys {
            failure = Some((
                r.index,
                RecordError::Field {
                    field: "dynamodb.Keys".into(),
                    reason: format!(
                        "key attributes {:?} differ from the batch's {key_names:?}",
                        r.keys.keys().collect::<Vec<_>>()
                    ),
                },
            ));
            break;
        }
        let item = match r.mirror_image() {
            Ok(item) => item,
            Err(e) => {
                failure = Some((r.index, e));
                break;
            }
        };
        considered += 1;
        let key = dynamodb_json_object(r.keys.iter().map(|(k, v)| (k.as_str(), v)));
        let seq = r.sequence_number.padded().to_string();
        let row = MirrorRow {
            record_index: r.index,
            key: key.clone(),
            seq: seq.clone(),
            meta: vec![Cell::Str(seq.clone()), timestamp(r.created_micros)],
            item,
            deleted: r.event_name == EventName::Remove,
        };
        match latest.get(&key) {
            Some(existing) if existing.seq >= seq => {}
            Some(_) => {
                latest.insert(key, row);
            }
            None => {
                order.push(key.clone());
                latest.insert(key, row);
            }
        }
    }
    let rows = order
        .into_iter()
        .filter_map(|k| latest.remove(&k))
        .collect();
    MirrorPlan {
        key_names,
        rows,
        records: considered,
        failure,
    }
}

/// Changelog rows as converter input.
pub fn changelog_input(rows: &[ChangelogRow]) -> Vec<RowIn<'_>> {
    rows.iter()
        .map(|r| RowIn {
            meta: r.meta.clone(),
            item: &r.item,
        })
        .collect()
}

/// Mirror rows as converter input.
pub fn mirror_input(rows: &[MirrorRow]) -> Vec<RowIn<'_>> {
    rows.iter()
        .map(|r| RowIn {
            meta: r.meta.clone(),
            item: &r.item,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::record::decode_record;
    use serde_json::json;

    fn rec(index: usize, name: &str, seq: &str, pk: &str, n: &str) -> StreamRecord {
        let mut v = json!({
            "eventID": format!("e{seq}"),
            "eventName": name,
            "dynamodb": {
                "Keys": {"pk": {"S": pk}},
                "NewImage": {"pk": {"S": pk}, "n": {"N": n}},
                "OldImage": {"pk": {"S": pk}, "n": {"N": "0"}},
                "SequenceNumber": seq,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
                "ApproximateCreationDateTime": 1700000000
            }
        });
        if name == "REMOVE" {
            v["dynamodb"].as_object_mut().unwrap().remove("NewImage");
        }
        decode_record(index, &v).unwrap()
    }

    #[test]
    fn changelog_keeps_every_record_once() {
        let records = vec![
            rec(0, "INSERT", "100", "a", "1"),
            rec(1, "MODIFY", "101", "a", "2"),
            rec(2, "MODIFY", "101", "a", "2"),
            rec(3, "REMOVE", "102", "a", "2"),
        ];
        let rows = changelog_rows(&records);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].meta[0], Cell::Str("INSERT".into()));
        assert_eq!(rows[2].meta[0], Cell::Str("REMOVE".into()));
        assert_eq!(rows[2].item.len(), 2, "REMOVE holds the old image");
        assert_eq!(rows[1].seq.len(), 40);
        assert_eq!(rows[0].meta[2], Cell::Timestamp(1_700_000_000_000_000));
        assert_eq!(rows[0].meta[3], Cell::Str("e100".into()));
    }

    #[test]
    fn mirror_keeps_the_latest_change_per_key() {
        let records = vec![
            rec(0, "INSERT", "100", "a", "1"),
            rec(1, "INSERT", "101", "b", "1"),
            rec(2, "MODIFY", "102", "a", "2"),
            rec(3, "REMOVE", "103", "b", "1"),
            rec(4, "INSERT", "99", "c", "5"),
        ];
        let plan = mirror_rows(&records);
        assert_eq!(plan.key_names, ["pk"]);
        assert_eq!(plan.records, 5);
        let got: Vec<(usize, bool)> = plan
            .rows
            .iter()
            .map(|r| (r.record_index, r.deleted))
            .collect();
        assert_eq!(got, [(2, false), (3, true), (4, false)]);
        assert_eq!(plan.rows[1].item.len(), 1, "a REMOVE carries the keys");
        // An older record of a key never wins, whatever its position.
        let plan = mirror_rows(&[
            rec(0, "MODIFY", "200", "a", "2"),
            rec(1, "INSERT", "150", "a", "1"),
        ]);
        assert_eq!(plan.rows[0].record_index, 0);
    }

    #[test]
    fn mirror_stops_at_a_record_without_new_image() {
        let mut keys_only = rec(2, "MODIFY", "102", "a", "2");
        keys_only.new_image = None;
        keys_only.view_type = Some(crate::dynamo::ViewType::KeysOnly);
        let plan = mirror_rows(&[
            rec(0, "INSERT", "100", "a", "1"),
            rec(1, "INSERT", "101", "b", "1"),
            keys_only,
        ]);
        assert_eq!(plan.records, 2);
        let (index, err) = plan.failure.unwrap();
        assert_eq!(index, 2);
        assert!(err.to_string().contains("KEYS_ONLY"), "{err}");
        assert_eq!(plan.rows.len(), 2);
    }

    #[test]
    fn mirror_refuses_records_with_other_keys() {
        let mut other = rec(1, "INSERT", "101", "b", "1");
        let pk = other.keys.remove("pk").unwrap();
        other.keys.insert("id".into(), pk);
        let plan = mirror_rows(&[rec(0, "INSERT", "100", "a", "1"), other]);
        assert_eq!(plan.failure.map(|f| f.0), Some(1));
        assert_eq!(plan.rows.len(), 1);
    }
}
