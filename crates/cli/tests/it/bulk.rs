//! `twinscape import` and `twinscape export` into and out of a data directory: counts, an idempotent re-run, every bad line reported with its number, and an export that imports back to an identical graph.

use crate::{fixture, run};

const GOOD: &str = concat!(
    "{\"Section\": \"Header\"}\n",
    "{\"fileVersion\": \"1.0.0\", \"author\": \"test\", \"organization\": \"test\"}\n",
    "{\"Section\": \"Models\"}\n",
    "{\"@context\": \"dtmi:dtdl:context;3\", \"@id\": \"dtmi:b:Room;1\", \"@type\": \"Interface\", \"contents\": [{\"@type\": \"Property\", \"name\": \"n\", \"schema\": \"integer\"}, {\"@type\": \"Relationship\", \"name\": \"next\"}]}\n",
    "{\"Section\": \"Twins\"}\n",
    "{\"$dtId\": \"a\", \"$metadata\": {\"$model\": \"dtmi:b:Room;1\"}, \"n\": 1}\n",
    "{\"$dtId\": \"b\", \"$metadata\": {\"$model\": \"dtmi:b:Room;1\"}, \"n\": 2}\n",
    "{\"Section\": \"Relationships\"}\n",
    "{\"$dtId\": \"a\", \"$relationshipId\": \"r1\", \"$targetId\": \"b\", \"$relationshipName\": \"next\"}\n",
);

#[test]
fn import_export_round_trip_through_data_directories() {
    let bad = format!(
        "{GOOD}{{\"$dtId\": \"a\", \"$relationshipId\": \"r2\", \"$targetId\": \"zzz\", \"$relationshipName\": \"next\"}}\nnot json\n"
    );
    let dir = fixture("bulk_round_trip", &[("good.ndjson", GOOD.as_bytes()), ("bad.ndjson", bad.as_bytes())]);
    let first = run(&dir, &["import", "good.ndjson", "--data-dir", "data"]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert_eq!(first.stdout, "1 models created (0 unchanged), 2 twins and 1 relationships written, 0 errors\n");
    let again = run(&dir, &["import", "good.ndjson", "--data-dir", "data"]);
    assert_eq!(
        again.stdout, "0 models created (1 unchanged), 0 twins and 0 relationships written, 0 errors\n",
        "a re-run writes nothing"
    );

    let broken = run(&dir, &["import", "bad.ndjson", "--data-dir", "data"]);
    assert_eq!(broken.code, 1, "bad lines fail the import");
    expect_test::expect![[r#"
        line 10: relationship 'r2' of 'a': the target twin 'zzz' does not exist
        line 11: not valid JSON: expected ident at line 1 column 2
    "#]]
    .assert_eq(&broken.stderr);

    let export = run(&dir, &["export", "--data-dir", "data", "--output", "export.ndjson"]);
    assert_eq!(export.code, 0, "{}", export.stderr);
    let copy = run(&dir, &["import", "export.ndjson", "--data-dir", "copy"]);
    assert_eq!(copy.code, 0, "{}", copy.stderr);
    let original = run(&dir, &["export", "--data-dir", "data"]).stdout;
    let copied = run(&dir, &["export", "--data-dir", "copy"]).stdout;
    assert_eq!(original, copied, "the export imports back to an identical graph");
    assert!(original.contains("\"$relationshipId\":\"r1\""));
}
