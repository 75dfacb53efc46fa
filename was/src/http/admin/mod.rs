//! The console's endpoints. The whole router sits behind `session::require_operator`,
//! so no route can forget its check: anonymous callers get 401, renters 403, and a role
//! a route is not for 403 `role_forbidden` (`policy`).

mod classifications;
mod codes;
mod deposits;
mod geocode;
mod lockers;
mod log;
pub mod policy;
mod reports;

pub use reports::RentalReportView;
mod rentals;
mod statistics;
mod stores;
mod umbrellas;
mod uploads;
mod users;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(users::routes())
        .merge(classifications::routes())
        .merge(codes::routes())
        .merge(stores::routes())
        .merge(umbrellas::routes())
        .merge(rentals::routes())
        .merge(lockers::routes())
        .merge(deposits::routes())
        .merge(log::routes())
        .merge(reports::routes())
        .merge(statistics::routes())
        .merge(geocode::routes())
        .merge(uploads::routes())
}
