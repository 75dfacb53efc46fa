//! What each role may call in the console, in one table. Admins may call everything;
//! a route missing from a role's list answers 403 `role_forbidden` before its handler
//! runs. Staff are further limited to their own stores inside the handlers
//! (`Operator::may_manage`, `Operator::store_scope`).

use axum::http::Method;

use crate::domain::role::Role;

/// Deposit clerks: money (deposits, refunds, closing rentals) and what they need to see
/// it; not rights, bans, the action log, or changes to stores and umbrellas.
const CLERK: &[(&str, &str)] = &[
    ("GET", "/dashboard"),
    ("GET", "/rentals"),
    ("GET", "/rentals/{id}"),
    ("POST", "/rentals/{id}/deposit"),
    ("POST", "/rentals/{id}/bank-account/reveal"),
    ("DELETE", "/rentals/{id}/bank-account"),
    ("POST", "/rentals/{id}/close"),
    ("POST", "/rentals/{id}/found"),
    ("GET", "/deposits/summary"),
    ("GET", "/deposits/refund-queue"),
    ("POST", "/deposits/confirm"),
    ("GET", "/deposits/export.csv"),
    ("GET", "/condition-reports"),
    ("GET", "/improvement-reports"),
    ("GET", "/reports"),
    ("POST", "/reports/{id}/resolve"),
    ("GET", "/statistics"),
    ("GET", "/stock"),
    ("GET", "/stores"),
    ("GET", "/stores/{id}"),
    ("GET", "/stores/{id}/monthly-report"),
    ("GET", "/umbrellas"),
    ("GET", "/umbrellas/statistics"),
    ("GET", "/stores/{id}/umbrellas/statistics"),
];

/// Partner-store staff: their stores, the umbrellas and locker there, taking back an
/// umbrella left at the counter, and renters' reports about their stores.
const STAFF: &[(&str, &str)] = &[
    ("GET", "/stores"),
    ("GET", "/stores/{id}"),
    ("POST", "/stores/{id}/staff-returns"),
    ("GET", "/umbrellas"),
    ("GET", "/lockers"),
    ("PUT", "/lockers/{id}/counter"),
    ("GET", "/reports"),
    ("POST", "/reports/{id}/resolve"),
    ("GET", "/stock"),
];

/// Whether `role` may call `method` on `route` (the route's template under
/// `/api/admin`, as matched: `/stores/{id}`).
pub fn allows(role: Role, method: &Method, route: &str) -> bool {
    let list = match role {
        Role::Admin => return true,
        Role::Renter => return false,
        Role::Clerk => CLERK,
        Role::Staff => STAFF,
    };
    list.iter()
        .any(|(m, r)| *m == method.as_str() && *r == route)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clerks_handle_money_but_not_rights() {
        assert!(allows(Role::Clerk, &Method::POST, "/deposits/confirm"));
        assert!(!allows(Role::Clerk, &Method::PATCH, "/users/{id}"));
        assert!(!allows(Role::Clerk, &Method::POST, "/users/{id}/ban"));
        assert!(!allows(Role::Staff, &Method::GET, "/deposits/summary"));
        assert!(allows(
            Role::Staff,
            &Method::POST,
            "/stores/{id}/staff-returns"
        ));
        assert!(!allows(Role::Renter, &Method::GET, "/stores"));
        assert!(allows(Role::Admin, &Method::DELETE, "/anything"));
    }
}
