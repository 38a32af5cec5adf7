//! The route table's tests (`router.rs`).

use super::{Action, Guard, Route};

#[test]
fn routes_match_exact_paths_only() {
    assert_eq!(Route::parse("/health"), Ok(Some(Route::Health)));
    assert_eq!(Route::parse("/recommend"), Ok(Some(Route::Recommend)));
    assert_eq!(Route::parse("/recommend/U%2010001"), Ok(Some(Route::RecommendUser("U 10001".into()))));
    assert_eq!(Route::parse("/items/TECH1001/similar"), Ok(Some(Route::Similar("TECH1001".into()))));
    assert_eq!(Route::parse("/admin/model"), Ok(Some(Route::Model(Action::Pointer))));
    assert_eq!(Route::parse("/admin/model/promote"), Ok(Some(Route::Model(Action::Promote))));
    assert_eq!(Route::parse("/events"), Ok(Some(Route::Events)));
    assert_eq!(Route::parse("/admin/events"), Ok(Some(Route::AdminEvents)));
    assert_eq!(Route::parse("/admin/items"), Ok(Some(Route::AdminItems)));
    assert_eq!(Route::parse("/admin/users/U%2010001"), Ok(Some(Route::AdminUser("U 10001".into()))));
    assert_eq!(Route::parse("/admin/users/"), Ok(Some(Route::AdminUser(String::new()))));
    assert_eq!(Route::parse("/admin/deletions"), Ok(Some(Route::AdminDeletions)));
    for none in [
        "/",
        "/health/",
        "/recommend/",
        "/items//similar",
        "/items/A/similar/x",
        "/docs.html",
        "/admin/users",
        "/admin/users/A/x",
    ] {
        assert_eq!(Route::parse(none), Ok(None), "{none}");
    }
    assert!(Route::parse("/recommend/%FF").is_err());
}

#[test]
fn methods_are_matched_as_raw_strings() {
    assert!(Route::Recommend.spec().allows("POST"));
    assert!(!Route::Recommend.spec().allows("post"));
    assert!(!Route::Recommend.spec().allows("GET"));
    assert!(Route::Health.spec().allows("HEAD"));
    assert!(!Route::Health.spec().allows("FOO"));
    assert!(!Route::Health.spec().allows("GET, HEAD"));
    assert!(Route::Model(Action::Pointer).spec().allows("PUT"));
}

#[test]
fn the_allow_list_names_the_methods_and_options() {
    for route in [Route::Recommend, Route::Health, Route::Users, Route::Events, Route::AdminEvents] {
        let spec = route.spec();
        assert_eq!(spec.allow, format!("{}, OPTIONS", spec.methods));
    }
}

#[test]
fn every_admin_route_is_guarded_by_the_admin_token() {
    let admin = [
        Route::AdminEvents,
        Route::AdminItems,
        Route::AdminMetrics,
        Route::AdminUser("U1".into()),
        Route::AdminDeletions,
        Route::Model(Action::Pointer),
        Route::Model(Action::Activate),
        Route::Model(Action::Rollback),
        Route::Model(Action::Promote),
    ];
    for route in admin {
        assert_eq!(route.spec().guard, Guard::Admin, "{route:?}");
    }
    for path in [
        "/admin/events",
        "/admin/items",
        "/admin/metrics",
        "/admin/users/U1",
        "/admin/deletions",
        "/admin/model",
        "/admin/model/activate",
        "/admin/model/rollback",
        "/admin/model/promote",
    ] {
        let route = Route::parse(path).ok().flatten();
        assert_eq!(route.map(|r| r.spec().guard), Some(Guard::Admin), "{path}");
    }
    assert_eq!(Route::Users.spec().guard, Guard::ApiKey);
    assert_eq!(Route::Health.spec().guard, Guard::Open);
}
