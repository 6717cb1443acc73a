//! The built-in models load through the `model` crate as a valid, complete set; each kind is a topology object; the containment relationships and the properties extended types fill are declared as this crate says.

use model::set::{ContentKind, ModelMatch};
use model::{ModelSet, Options, Severity};
use ontology::{CONTAINMENT, Category, Direction, ObjectKind, TOPOLOGY_OBJECT, containment_direction, documents};

/// The built-in model set, after asserting that it is valid and complete.
fn check_set() -> ModelSet {
    let documents = documents();
    let outcome = model::parse(&documents, &Options::default());
    let errors: Vec<String> = outcome
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {d}", documents[d.document].name))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(outcome.unresolved.is_empty(), "unresolved {:?}", outcome.unresolved);
    assert!(outcome.is_valid());
    outcome.set
}

#[test]
fn loads_without_errors() {
    let set = check_set();
    let ids: Vec<&str> = set.interfaces().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "dtmi:twinscape:Device;1",
            "dtmi:twinscape:Sensor;1",
            "dtmi:twinscape:Space;1",
            "dtmi:twinscape:TopologyObject;1",
            "dtmi:twinscape:User;1"
        ]
    );
}

#[test]
fn every_kind_is_a_topology_object_and_only_itself() {
    let set = check_set();
    for kind in ObjectKind::ALL {
        assert!(set.is_a(kind.model(), TOPOLOGY_OBJECT, ModelMatch::SubtypesAndLaterVersions), "{kind:?}");
        for other in ObjectKind::ALL {
            let expected = kind == other;
            assert_eq!(
                set.is_a(kind.model(), other.model(), ModelMatch::SubtypesAndLaterVersions),
                expected,
                "{kind:?} is a {other:?}"
            );
        }
        for name in ["name", "friendlyName", "description", "location", "properties"] {
            assert!(set.content(kind.model(), name).is_some(), "{kind:?} inherits {name}");
        }
    }
    assert_eq!(ontology::SPACE, "dtmi:twinscape:Space;1", "DESIGN.md §2 names the space model");
}

/// Every relationship of the built-in models, with its role in the containment tree.
#[test]
fn relationships_and_containment() {
    let set = check_set();
    let mut out = String::new();
    for interface in set.interfaces() {
        for content in &interface.contents {
            let ContentKind::Relationship { target, max_multiplicity, .. } = &content.kind else { continue };
            let target = target.as_ref().map(|t| t.as_str()).unwrap_or("any");
            let role = match containment_direction(&content.name) {
                Some(Direction::ParentToChild) => "containment, parent to child",
                Some(Direction::ChildToParent) => "containment, child to parent",
                None => "not containment",
            };
            let max = max_multiplicity.map(|m| format!(" (at most {m})")).unwrap_or_default();
            out.push_str(&format!("{} -{}-> {target}{max}: {role}\n", interface.id.as_str(), content.name));
        }
    }
    expect_test::expect![[r#"
        dtmi:twinscape:Device;1 -hasSensor-> dtmi:twinscape:Sensor;1: containment, parent to child
        dtmi:twinscape:Sensor;1 -observes-> dtmi:twinscape:Space;1 (at most 1): not containment
        dtmi:twinscape:Space;1 -contains-> dtmi:twinscape:Space;1: containment, parent to child
        dtmi:twinscape:Space;1 -hasDevice-> dtmi:twinscape:Device;1: containment, parent to child
        dtmi:twinscape:Space;1 -hasUser-> dtmi:twinscape:User;1: containment, parent to child
    "#]]
    .assert_eq(&out);
    for (name, _) in CONTAINMENT {
        assert!(out.contains(&format!("-{name}->")), "{name} is declared by a built-in model");
    }
}

/// The properties that hold an object's extended types: the name as a string, the id as an integer.
#[test]
fn categories_fill_declared_properties() {
    let set = check_set();
    for category in Category::ALL {
        let Some((kind, name, id)) = category.twin_properties() else { continue };
        for (property, term) in [(name, "string"), (id, "integer")] {
            let schema = set.property_schema(kind.model(), &[property]);
            let primitive = match schema {
                Some(model::Schema::Primitive(p)) => p.term(),
                _ => "not a primitive",
            };
            assert_eq!(primitive, term, "{category}: {kind:?}.{property}");
        }
    }
}
