#pragma once
// The one table both backends use. Private to index/.

namespace stoa::index {

inline constexpr const char* k_create_table =
    "CREATE TABLE IF NOT EXISTS stoa_versions ("
    " module TEXT NOT NULL, version TEXT NOT NULL,"
    " zip_h1 TEXT NOT NULL DEFAULT '', mod_h1 TEXT NOT NULL DEFAULT '',"
    " zip_size BIGINT NOT NULL DEFAULT -1, stored_ns BIGINT NOT NULL,"
    " origin TEXT NOT NULL DEFAULT '', PRIMARY KEY (module, version))";
inline constexpr const char* k_create_stored_index =
    "CREATE INDEX IF NOT EXISTS stoa_versions_stored ON stoa_versions (stored_ns, module, version)";

// When stoa first saw a version (index.hpp record_seen): write-once, never published.
inline constexpr const char* k_create_seen_table =
    "CREATE TABLE IF NOT EXISTS stoa_first_seen ("
    " module TEXT NOT NULL, version TEXT NOT NULL, seen_ns BIGINT NOT NULL,"
    " PRIMARY KEY (module, version))";

#define STOA_INDEX_SEEN_QUERY(P1)                                                    \
  "SELECT version, MIN(ns) FROM ("                                                   \
  " SELECT version, seen_ns AS ns FROM stoa_first_seen WHERE module = " P1           \
  " UNION ALL SELECT version, stored_ns AS ns FROM stoa_versions WHERE module = " P1 \
  ") AS s GROUP BY version"
inline constexpr const char* k_seen_sqlite = STOA_INDEX_SEEN_QUERY("?1");
inline constexpr const char* k_seen_postgres = STOA_INDEX_SEEN_QUERY("$1");
#undef STOA_INDEX_SEEN_QUERY

#define STOA_INDEX_UPSERT(P1, P2, P3, P4, P5, P6, P7)                                            \
  "INSERT INTO stoa_versions (module, version, zip_h1, mod_h1, zip_size, stored_ns, origin) "    \
  "VALUES (" P1 ", " P2 ", " P3 ", " P4 ", " P5 ", " P6 ", " P7                                  \
  ") "                                                                                           \
  "ON CONFLICT (module, version) DO UPDATE SET "                                                 \
  "zip_h1 = CASE WHEN stoa_versions.zip_h1 = '' THEN excluded.zip_h1 ELSE stoa_versions.zip_h1 " \
  "END, "                                                                                        \
  "mod_h1 = CASE WHEN stoa_versions.mod_h1 = '' THEN excluded.mod_h1 ELSE stoa_versions.mod_h1 " \
  "END, "                                                                                        \
  "zip_size = CASE WHEN stoa_versions.zip_size < 0 THEN excluded.zip_size "                      \
  "ELSE stoa_versions.zip_size END, "                                                            \
  "origin = CASE WHEN stoa_versions.origin = '' THEN excluded.origin ELSE stoa_versions.origin " \
  "END"

inline constexpr const char* k_upsert_sqlite =
    STOA_INDEX_UPSERT("?1", "?2", "?3", "?4", "?5", "?6", "?7");
inline constexpr const char* k_upsert_postgres =
    STOA_INDEX_UPSERT("$1", "$2", "$3", "$4", "$5::bigint", "$6::bigint", "$7");

#undef STOA_INDEX_UPSERT

}  // namespace stoa::index
