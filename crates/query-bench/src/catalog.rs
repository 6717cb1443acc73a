//! The queries of the comparison: each one in Twinscape's query language and in SQLite's SQL, written to give the same rows, with the anchors (twin ids) they run from.
//!
//! SQL is written as a competent user of a twin store in SQLite would write it: bound parameters, the indexes of `load`, JSON read with `json_extract`, and no join to `twins` where the relationship table already gives the id (a twin store keeps relationships between existing twins).
//! `IS_OF_MODEL` becomes `model = '…'`, which is equivalent here because the portfolio's models have no subtypes or later versions; a general store would have to expand the model list itself.
//! Running and comparing them is `measure`'s business.

use portfolio::{Kind, Portfolio, Rng};

/// One query of the comparison.
pub struct BenchQuery {
    /// A short name for tables, such as `point lookup`.
    pub name: &'static str,
    /// Twinscape's text for each anchor; runs cycle through them.
    pub instances: Vec<Instance>,
    /// SQLite's statement, with `?1` standing for the anchor when there is one.
    pub sql: &'static str,
    /// How SQLite's columns become the JSON row Twinscape answers.
    pub shape: Shape,
}

/// One anchor of a query: Twinscape's full text and SQLite's parameter.
pub struct Instance {
    pub text: String,
    pub parameter: Option<String>,
}

/// The JSON row built from one SQLite result row, the same text Twinscape's row has.
#[derive(Clone, Copy)]
pub enum Shape {
    /// Column 0 is a twin's JSON, which is the row (`SELECT *`).
    Document,
    /// Column 0 is a twin's JSON, projected as a collection: `{"<key>": <twin>}` (`SELECT S`).
    Collection(&'static str),
    /// Column 0 is a string: `{"<key>": "<text>"}` (`SELECT T.$dtId`).
    Text(&'static str),
    /// Column 0 is a string and column 1 a count: `{"<key>": "<text>", "<count>": n}` (GROUP BY with COUNT).
    Group { key: &'static str, count: &'static str },
}

/// Point lookups cycle through this many twins, picked at random.
const LOOKUP_IDS: usize = 1_000;
/// Path queries cycle through this many buildings, picked at random.
const BUILDINGS: usize = 32;
/// The room area above which the filter query keeps a room: about 1% of rooms (areas are uniform in 8..200).
const AREA_ABOVE: f64 = 198.0;

/// The portfolio's containment: from a space to what it holds, from a room to its devices, from a device to its sensors.
///
/// Its `locatedIn` relationships are not containment: they lead from a device to its floor and from a sensor to its
/// room, each a second parent beside the one of `hasDevice` or `hasSensor`. The SQL of the `IN_SPACE` query still
/// follows them, as the engine's walk did before it had a containment tree; they reach no twin outside the subtree.
pub(crate) const PARENT_TO_CHILD: [&str; 3] = ["contains", "hasDevice", "hasSensor"];

/// The containment declaration of the graph the queries run on (`PARENT_TO_CHILD`).
pub fn containment() -> graph::Containment {
    graph::Containment::new(PARENT_TO_CHILD, Vec::<String>::new()).expect("the portfolio's names are distinct")
}

/// Every query of the comparison over `portfolio`, which must have a tower; anchors are drawn from `seed`.
pub fn queries(portfolio: &Portfolio, seed: u64) -> Vec<BenchQuery> {
    let mut rng = Rng::new(seed ^ 0x005E_ED0F_A9C4_0B1E);
    let ids: Vec<&str> =
        (0..LOOKUP_IDS).map(|_| portfolio.twins[rng.below(portfolio.twins.len())].id.as_str()).collect();
    let buildings_range = &portfolio.levels[2];
    let buildings: Vec<&str> = (0..BUILDINGS.min(buildings_range.len()))
        .map(|_| portfolio.twins[buildings_range.start + rng.below(buildings_range.len())].id.as_str())
        .collect();
    let tower =
        portfolio.tower.as_ref().map(|t| portfolio.twins[t.start].id.as_str()).expect("the portfolio has a tower");
    let each = |anchors: &[&str], text: &dyn Fn(&str) -> String| -> Vec<Instance> {
        anchors.iter().map(|id| Instance { text: text(id), parameter: Some((*id).to_owned()) }).collect()
    };
    let room = Kind::Room.model();
    let floor = Kind::Floor.model();
    vec![
        BenchQuery {
            name: "point lookup by $dtId",
            instances: each(&ids, &|id| format!("SELECT * FROM DIGITALTWINS T WHERE T.$dtId = '{id}'")),
            sql: "SELECT doc FROM twins WHERE id = ?1",
            shape: Shape::Document,
        },
        BenchQuery {
            name: "model + property filter",
            instances: vec![Instance {
                text: format!("SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, '{room}') AND T.area > {AREA_ABOVE}"),
                parameter: None,
            }],
            sql: "SELECT doc FROM twins WHERE model = 'dtmi:twinscape:bench:Room;1' AND json_extract(doc, '$.area') > 198.0",
            shape: Shape::Document,
        },
        BenchQuery {
            name: "2 JOINs: building → floors → rooms",
            instances: each(&buildings, &|id| {
                format!(
                    "SELECT R FROM DIGITALTWINS B JOIN F RELATED B.contains JOIN R RELATED F.contains WHERE B.$dtId = '{id}'"
                )
            }),
            sql: "SELECT r.doc FROM relationships bf \
                  JOIN relationships fr ON fr.source = bf.target AND fr.name = 'contains' \
                  JOIN twins r ON r.id = fr.target \
                  WHERE bf.source = ?1 AND bf.name = 'contains'",
            shape: Shape::Collection("R"),
        },
        BenchQuery {
            name: "4 JOINs: building → … → sensors",
            instances: each(&buildings, &|id| {
                format!(
                    "SELECT S FROM DIGITALTWINS B JOIN F RELATED B.contains JOIN R RELATED F.contains \
                     JOIN D RELATED R.hasDevice JOIN S RELATED D.hasSensor WHERE B.$dtId = '{id}'"
                )
            }),
            sql: "SELECT s.doc FROM relationships bf \
                  JOIN relationships fr ON fr.source = bf.target AND fr.name = 'contains' \
                  JOIN relationships rd ON rd.source = fr.target AND rd.name = 'hasDevice' \
                  JOIN relationships ds ON ds.source = rd.target AND ds.name = 'hasSensor' \
                  JOIN twins s ON s.id = ds.target \
                  WHERE bf.source = ?1 AND bf.name = 'contains'",
            shape: Shape::Collection("S"),
        },
        BenchQuery {
            name: "IN_SPACE: the tower's subtree",
            instances: each(&[tower], &|id| format!("SELECT T.$dtId FROM DIGITALTWINS T WHERE IN_SPACE(T, '{id}')")),
            sql: "WITH RECURSIVE below(id) AS ( \
                    SELECT ?1 \
                    UNION SELECT r.target FROM below JOIN relationships r \
                      ON r.source = below.id AND r.name IN ('contains', 'hasDevice', 'hasSensor') \
                    UNION SELECT r.source FROM below JOIN relationships r \
                      ON r.target = below.id AND r.name = 'locatedIn' \
                  ) SELECT id FROM below",
            shape: Shape::Text("$dtId"),
        },
        BenchQuery {
            name: "3-hop MATCH: building → devices",
            instances: each(&buildings, &|id| {
                format!(
                    "SELECT d FROM DIGITALTWINS MATCH (b)-[:contains]->(f)-[:contains]->(r)-[:hasDevice]->(d) \
                     WHERE b.$dtId = '{id}'"
                )
            }),
            sql: "SELECT d.doc FROM relationships bf \
                  JOIN relationships fr ON fr.source = bf.target AND fr.name = 'contains' \
                  JOIN relationships rd ON rd.source = fr.target AND rd.name = 'hasDevice' \
                  JOIN twins d ON d.id = rd.target \
                  WHERE bf.source = ?1 AND bf.name = 'contains'",
            shape: Shape::Collection("d"),
        },
        BenchQuery {
            name: "GROUP BY: rooms per floor of the tower",
            instances: each(&[tower], &|id| {
                format!(
                    "SELECT F.$dtId AS floor, COUNT() AS rooms FROM DIGITALTWINS B JOIN F RELATED B.contains \
                     JOIN R RELATED F.contains WHERE B.$dtId = '{id}' GROUP BY F.$dtId"
                )
            }),
            sql: "SELECT bf.target, COUNT(*) FROM relationships bf \
                  JOIN relationships fr ON fr.source = bf.target AND fr.name = 'contains' \
                  WHERE bf.source = ?1 AND bf.name = 'contains' GROUP BY bf.target",
            shape: Shape::Group { key: "floor", count: "rooms" },
        },
        BenchQuery {
            name: "GROUP BY: rooms per floor, every floor",
            instances: vec![Instance {
                text: format!(
                    "SELECT F.$dtId AS floor, COUNT() AS rooms FROM DIGITALTWINS F JOIN R RELATED F.contains \
                     WHERE IS_OF_MODEL(F, '{floor}') GROUP BY F.$dtId"
                ),
                parameter: None,
            }],
            sql: "SELECT f.id, COUNT(*) FROM twins f \
                  JOIN relationships fr ON fr.source = f.id AND fr.name = 'contains' \
                  WHERE f.model = 'dtmi:twinscape:bench:Floor;1' GROUP BY f.id",
            shape: Shape::Group { key: "floor", count: "rooms" },
        },
    ]
}
