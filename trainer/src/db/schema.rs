//! The trainer's MySQL schema, in one place for the demo-data generator (which creates the
//! tables), `trainer ingest` (which creates or migrates them) and the MySQL source (which reads
//! them): an interactions table (`id` BIGINT auto-increment primary key, `user_id`/`item_id`
//! utf8mb4 VARCHAR(256) with binary collation, so any ID the Worker accepts (up to 256 bytes of
//! UTF-8) fits, `rating` TINYINT UNSIGNED, `behavior` ENUM, `timestamp` DATETIME in UTC, and a
//! nullable `event_id` with a UNIQUE key that `trainer ingest` fills and generated rows leave
//! NULL), an items table (`item_id` primary key, `category`), and the names of ingest's two
//! cursor tables.

use super::TableName;

/// The table in which `trainer ingest` keeps, per Worker URL and interactions table, the `seq`
/// of the last event it stored (in the interactions table's database).
pub const CURSOR_TABLE: &str = "edgerec_ingest_cursor";

/// The table in which `trainer ingest` keeps, per Worker URL and interactions table, the `seq`
/// of the last user deletion it applied (and `trainer train` reads it, to stamp the model's
/// `erased_through`).
pub const ERASURE_CURSOR_TABLE: &str = "edgerec_erasure_cursor";

/// The type of the ID columns: holds any ID the Worker accepts (1..=256 bytes of UTF-8).
pub(crate) const ID_TYPE: &str = "VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";
/// The `event_id` column: `trainer ingest`'s idempotency key, NULL for generated rows.
pub(crate) const EVENT_ID_COLUMN: &str = "`event_id` VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL";
/// The UNIQUE key on `event_id` (many NULLs are allowed).
pub(crate) const EVENT_ID_KEY: &str = "UNIQUE KEY `uniq_event_id` (`event_id`)";
/// The secondary indexes of the interactions table (besides [`EVENT_ID_KEY`]), built after a
/// bulk load.
pub(crate) const INTERACTIONS_INDEXES: &str =
    "ADD INDEX `idx_user_item` (`user_id`, `item_id`), ADD INDEX `idx_item` (`item_id`)";

/// `CREATE TABLE` for the interactions table, without its secondary indexes.
pub(crate) fn interactions_ddl(table: &TableName, comment: &str) -> String {
    format!(
        "CREATE TABLE {} (\
           `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, \
           `user_id` {ID_TYPE} NOT NULL, \
           `item_id` {ID_TYPE} NOT NULL, \
           `rating` TINYINT UNSIGNED NOT NULL, \
           `behavior` ENUM('view','click','cart','purchase') NOT NULL, \
           `timestamp` DATETIME NOT NULL, \
           {EVENT_ID_COLUMN}, \
           PRIMARY KEY (`id`)\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='{comment}'",
        table.quoted()
    )
}

/// `CREATE TABLE` for the items table.
pub(crate) fn items_ddl(table: &TableName) -> String {
    format!(
        "CREATE TABLE {} (\
           `item_id` {ID_TYPE} NOT NULL, \
           `category` VARCHAR(32) NOT NULL, \
           PRIMARY KEY (`item_id`)\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        table.quoted()
    )
}
