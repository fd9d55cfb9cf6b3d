//! SQL functions both backends share.

diesel::define_sql_function! {
    /// `LOWER(text)`, for case-insensitive search on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}
