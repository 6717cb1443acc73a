//! The spatial crate through its public API over a real graph: the built-in models loaded into a `TenantGraph`, spaces placed with `contains`, and what `navigate` and `state` answer about them together.

use expect_test::{Expect, expect};
use graph::{Containment, Precondition, TenantGraph};
use ontology::{Category, ObjectKind};
use serde_json::{Value, json};
use spatial::navigate::{Kinds, TreeFilter, select};
use spatial::state::{CustomType, Spatial, TypeRef};

const NOW: &str = "2026-11-26T12:00:00.0000000Z";

/// Campus ⊃ {North ⊃ N1, South ⊃ S1}, every twin a space.
fn campus() -> TenantGraph {
    let containment = Containment::new(["contains"], Vec::<String>::new()).expect("a valid declaration");
    let mut graph = TenantGraph::with_containment(graph::Limits::default(), containment);
    let models: Vec<Value> = ontology::documents()
        .iter()
        .map(|d| serde_json::from_str(&d.text).expect("built-in models are JSON"))
        .collect();
    graph.upload_models(models, NOW).expect("the built-in models are valid");
    for id in ["campus", "north", "south", "n1", "s1"] {
        let body = json!({"$metadata": {"$model": ontology::SPACE}, "name": id});
        graph.put_twin(id, body, &Precondition::None, NOW).expect("a space");
    }
    for (parent, child) in [("campus", "north"), ("campus", "south"), ("north", "n1"), ("south", "s1")] {
        let body = json!({"$targetId": child, "$relationshipName": "contains"});
        graph.put_relationship(parent, &format!("{parent}-{child}"), body, &Precondition::None, NOW).expect("placed");
    }
    graph
}

/// For each space the tree parameters select, the custom `SpaceSubtype` named `name` it can use, or why not.
fn check(graph: &TenantGraph, state: &Spatial, pairs: &[(&str, &str)], name: &str, expect: Expect) {
    let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let filter = TreeFilter::from_pairs(&pairs).expect("valid parameters");
    let kinds = Kinds::new(graph);
    let slots = select(graph, &kinds, ObjectKind::Space, &filter, 100).expect("a selection");
    let mut out = String::new();
    for slot in slots {
        let path = graph.path_at(slot);
        let answer = match state.usable_type(Category::SpaceSubtype, &TypeRef::Name(name.to_owned()), &path) {
            Ok(ty) => format!("{} {}", ty.id, ty.name),
            Err(err) => err.to_string(),
        };
        out.push_str(&format!("{} (level {}): {answer}\n", path.join("/"), kinds.level_at(slot).unwrap_or(0)));
    }
    expect.assert_eq(&out);
}

#[test]
fn a_custom_type_serves_the_subtree_of_its_space() {
    let graph = campus();
    let mut state = Spatial::default();
    let gym = CustomType {
        id: 0,
        category: Category::SpaceSubtype,
        name: "GymRoom".to_owned(),
        friendly_name: None,
        description: None,
        disabled: false,
        logical_order: 0,
        space_id: "north".to_owned(),
    };
    state.create_type(gym).expect("a new type");
    check(
        &graph,
        &state,
        &[("spaceId", "campus"), ("traverse", "Down")],
        "gymroom",
        expect![[r#"
            campus (level 1): SpaceSubtype 'gymroom' is not a type this space can use (GET types?categories=SpaceSubtype lists them)
            campus/north (level 2): 1000000 GymRoom
            campus/north/n1 (level 3): 1000000 GymRoom
            campus/south (level 2): SpaceSubtype 'gymroom' is not a type this space can use (GET types?categories=SpaceSubtype lists them)
            campus/south/s1 (level 3): SpaceSubtype 'gymroom' is not a type this space can use (GET types?categories=SpaceSubtype lists them)
        "#]],
    );
}
