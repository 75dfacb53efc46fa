//! Admin endpoints. The whole router sits behind `session::require_admin`, so no admin
//! route can forget its check: anonymous callers get 401 and other users 403.

mod classifications;
mod codes;
mod deposits;
mod geocode;
mod lockers;
mod log;
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
        .merge(statistics::routes())
        .merge(geocode::routes())
        .merge(uploads::routes())
}
