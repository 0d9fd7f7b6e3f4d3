#pragma once
// Azure Blob Storage Store over libcurl: the Blob service REST API, no SDK. Objects are block
// blobs at "<container>/<prefix><key>", so the container (under the prefix) is a GOPROXY file
// tree like the disk store's root.
//
// Beyond the store.hpp contract:
// - get() is one Get Blob. A body up to `inline_max` bytes is returned as bytes; a bigger one is
//   streamed into an unlinked file in `spool_dir` (O_TMPFILE) and returned as its descriptor,
//   so memory stays flat for a 500 MiB zip. Simultaneous gets of one key share one Get Blob and
//   one spool file (read_flights.hpp). 404 with the error code BlobNotFound is absence; every
//   other failure (a 404 ContainerNotFound included) throws.
// - put() commits with a conditional create (If-None-Match: *): one Put Blob up to
//   `block_size`, otherwise Put Block for each block (read with pread) and one Put Block List
//   carrying the condition. 409 BlobAlreadyExists or 412 means the key existed: false.
//   Uncommitted blocks of a failed upload are collected by the service (after a week).
// - "<m>/@v/list" is rebuilt from a paged List Blobs of "<m>/@v/" after each tagged .info commit
//   and written unconditionally, as the S3 store does (serialized per module in one process;
//   re-listed after writing and rewritten while it lacks a stored version).
// - Authorization, the first that is set: Shared Key (`account_key`), a SAS token (`sas_token`,
//   appended to every request's query), or managed identity (bearer tokens from the instance
//   metadata endpoint, cached until five minutes before they expire; identity.hpp).
// - Transient failures (connection errors, stalls, 5xx such as 503 ServerBusy, 429) are retried
//   with exponential backoff up to `max_attempts`; 4xx answers are not. Thread-safe.
// - Files: client (transport over curl/, signing, retries), store (this contract), writes
//   (Put Blob, blocks), shared_key (pure signing), identity (managed-identity tokens),
//   connection_string (the AZURE_STORAGE_CONNECTION_STRING form), xml (the service's documents).
// - Secrets (the key, the SAS signature, tokens) never appear in errors or logs.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "stoa/store/store.hpp"

namespace stoa::store {

struct AzureOptions {
  // "https://<account>.blob.core.windows.net", or an endpoint with the account in its path
  // ("http://127.0.0.1:10000/devstoreaccount1", Azurite's form). Empty: the public cloud's,
  // from `account`.
  std::string endpoint;
  std::string account;
  std::string container;          // must exist
  std::string prefix;             // "" or e.g. "goproxy/" (a missing trailing '/' is added)
  std::string account_key;        // base64 Shared Key; empty: not used
  std::string sas_token;          // a SAS query ("sv=...&sig=..."); empty: not used
  bool managed_identity = false;  // bearer tokens from identity_endpoint
  std::string identity_endpoint = "http://169.254.169.254/metadata/identity/oauth2/token";
  std::string identity_client_id;  // a user-assigned identity; empty: the system-assigned one
  std::uint64_t block_size = std::uint64_t{16} << 20;  // Put Blob up to this, blocks above
  std::uint64_t inline_max = std::uint64_t{1} << 20;   // bigger Get Blob bodies go to spool_dir
  std::filesystem::path spool_dir;  // staged puts and spooled reads; created if missing
  int max_attempts = 4;
  std::chrono::milliseconds first_backoff{100};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds stall_timeout{60'000};  // no byte moved for this long: the attempt
                                                    // fails (curl/transfer.hpp); zero: off
  long max_results = 5000;  // List Blobs page size (the service's maximum; tests use less)
};

// Checks the options and reaches the container (Get Container Properties). Throws StoreError
// with one clear message when it cannot be used.
std::unique_ptr<Store> make_azure_store(const AzureOptions& options);

// What AZURE_STORAGE_CONNECTION_STRING holds ("AccountName=...;AccountKey=...;BlobEndpoint=...",
// "UseDevelopmentStorage=true"), as options: endpoint, account, account_key, sas_token.
// Fields it does not name stay empty. Pure; nullopt with `error` set when it is malformed.
std::optional<AzureOptions> parse_connection_string(std::string_view text, std::string* error);

}  // namespace stoa::store
