// The one table of configuration keys (config.hpp): name, type, default and help of each.
// ARCHITECTURE.md, docs/configuration.md and packaging/stoa.toml list the same keys.

#include "stoa/cli/config.hpp"

namespace stoa::cli {

const std::vector<KeySpec>& keys() {
  static const std::vector<KeySpec> table = {
      {"listen", KeyType::address, "127.0.0.1:8080",
       "address to serve on: host:port (port 0 picks one), or unix:PATH for a unix socket (for a "
       "reverse proxy on the same host)"},
      {"admin_listen", KeyType::address, "",
       "address of the admin listener (metrics, health, fetches in flight, effective "
       "configuration, "
       "store statistics); empty: off. Bind it to a private address"},
      {"data_dir", KeyType::string, "data",
       "directory of the disk store (itself a GOPROXY file tree)"},
      {"store",
       KeyType::choice,
       "disk",
       "storage backend: disk (data_dir), memory (tests), s3 (an S3-compatible bucket), gcs (a "
       "Google Cloud Storage bucket), azure (an Azure Blob Storage container) or mongodb (GridFS "
       "and a collection of a MongoDB database); with s3, gcs, azure and mongodb, data_dir holds "
       "only temp files and this machine's state",
       {"disk", "memory", "s3", "gcs", "azure", "mongodb"}},
      {"s3_endpoint", KeyType::string, "",
       "S3 endpoint URL, e.g. http://127.0.0.1:7070; default: AWS S3 of s3_region "
       "(https://s3.<region>.amazonaws.com)"},
      {"s3_bucket", KeyType::string, "", "S3 bucket (required with store = \"s3\")"},
      {"s3_prefix", KeyType::string, "",
       "key prefix inside the bucket, e.g. \"goproxy/\"; empty: the bucket root"},
      {"s3_region", KeyType::string, "",
       "region used for signing; default: AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1"},
      {"s3_access_key",
       KeyType::string,
       "",
       "access key id; default: the AWS_ACCESS_KEY_ID environment variable",
       {},
       true},
      {"s3_secret_key",
       KeyType::string,
       "",
       "secret access key; default: the AWS_SECRET_ACCESS_KEY environment variable",
       {},
       true},
      {"s3_session_token",
       KeyType::string,
       "",
       "session token of temporary credentials; default: the AWS_SESSION_TOKEN environment "
       "variable",
       {},
       true},
      {"s3_addressing",
       KeyType::choice,
       "auto",
       "path (<endpoint>/<bucket>/<key>) or virtual (<bucket>.<endpoint host>/<key>); auto: path "
       "with s3_endpoint set, virtual for AWS",
       {"auto", "path", "virtual"}},
      {"s3_conditional_write",
       KeyType::choice,
       "auto",
       "write-once commits by If-None-Match: * (on), or HEAD then PUT for servers without it "
       "(off: racing replicas may both write; see docs/operations.md); auto: probe at start",
       {"auto", "on", "off"}},
      {"s3_presign_ttl", KeyType::duration, "0",
       "with store = \"s3\": answer a stored .zip with a 302 to a presigned URL valid this long, "
       "so its bytes flow from the object store (clients must reach s3_endpoint); 0: serve the "
       "bytes"},
      {"s3_part_size",
       KeyType::count,
       "16777216",
       "bytes per part of a multipart upload (at least 5 MiB); bigger files are uploaded in parts",
       {},
       false,
       5242880},
      {"gcs_bucket", KeyType::string, "",
       "Google Cloud Storage bucket (required with store = \"gcs\")"},
      {"gcs_prefix", KeyType::string, "",
       "object name prefix inside the GCS bucket, e.g. \"goproxy/\"; empty: the bucket root"},
      {"gcs_endpoint", KeyType::string, "",
       "root URL of the GCS JSON API, for an emulator or a private endpoint, e.g. "
       "http://127.0.0.1:4443; default: https://storage.googleapis.com"},
      {"gcs_auth",
       KeyType::choice,
       "auto",
       "how stoa gets GCS access tokens: key_file (a service-account JSON key, "
       "gcs_credentials_file), metadata (the metadata server of the machine it runs on), none "
       "(an emulator); auto: key_file when a key file is named, none when gcs_endpoint is set, "
       "else metadata",
       {"auto", "key_file", "metadata", "none"}},
      {"gcs_credentials_file", KeyType::string, "",
       "service-account JSON key file (its private key signs the token requests; keep it "
       "readable by stoa only); default: the GOOGLE_APPLICATION_CREDENTIALS environment "
       "variable"},
      {"gcs_metadata_host", KeyType::string, "",
       "host[:port] of the metadata server for gcs_auth = metadata; default: the "
       "GCE_METADATA_HOST environment variable, then metadata.google.internal"},
      {"gcs_chunk_size",
       KeyType::count,
       "16777216",
       "bytes per chunk of a resumable upload to GCS (a multiple of 262144); bigger files are "
       "uploaded in chunks, smaller ones in one request",
       {},
       false,
       262144},
      {"azure_account", KeyType::string, "",
       "Azure storage account name; default: AZURE_STORAGE_ACCOUNT, or the connection string's "
       "AccountName"},
      {"azure_container", KeyType::string, "",
       "Azure Blob Storage container (required with store = \"azure\"; it must exist)"},
      {"azure_prefix", KeyType::string, "",
       "blob name prefix inside the container, e.g. \"goproxy/\"; empty: the container root"},
      {"azure_endpoint", KeyType::string, "",
       "Blob service endpoint URL, e.g. http://127.0.0.1:10000/devstoreaccount1 (an emulator); "
       "default: the connection string's BlobEndpoint, else "
       "https://<azure_account>.blob.core.windows.net"},
      {"azure_key",
       KeyType::string,
       "",
       "storage account key (Shared Key authorization); default: AZURE_STORAGE_KEY, or the "
       "connection string's AccountKey",
       {},
       true},
      {"azure_sas",
       KeyType::string,
       "",
       "shared access signature (a SAS query, used when there is no key); default: "
       "AZURE_STORAGE_SAS_TOKEN, or the connection string's SharedAccessSignature",
       {},
       true},
      {"azure_connection_string",
       KeyType::string,
       "",
       "a storage connection string (AccountName, AccountKey, BlobEndpoint, "
       "SharedAccessSignature, EndpointSuffix, DefaultEndpointsProtocol, "
       "UseDevelopmentStorage); the azure_* keys override its parts; default: "
       "AZURE_STORAGE_CONNECTION_STRING",
       {},
       true},
      {"azure_managed_identity", KeyType::boolean, "false",
       "without a key or SAS, authorize with the managed identity of the Azure host (bearer "
       "tokens from the instance metadata endpoint, cached and refreshed)"},
      {"azure_identity_client_id", KeyType::string, "",
       "client id of a user-assigned managed identity; default: AZURE_CLIENT_ID, else the "
       "system-assigned identity"},
      {"azure_block_size",
       KeyType::count,
       "16777216",
       "bytes per block of a block upload (at least 1 MiB); bigger files are uploaded in blocks",
       {},
       false,
       1048576},
      {"mongodb_uri", KeyType::string, "",
       "MongoDB connection string (required with store = \"mongodb\"), e.g. "
       "mongodb://user:password@db1:27017,db2:27017/?replicaSet=rs0&w=majority; credentials, TLS, "
       "write and read concerns are its options (the credentials are redacted in logs)"},
      {"mongodb_database", KeyType::string, "stoa", "MongoDB database of the store"},
      {"mongodb_prefix", KeyType::string, "stoa",
       "names of the store's collections: <prefix>.objects (one document per file) and the GridFS "
       "bucket <prefix> (<prefix>.files, <prefix>.chunks)"},
      {"upstream", KeyType::string, "",
       "upstream proxies in GOPROXY syntax (',' falls through on 404/410, '|' on any error); "
       "\"direct\" (last) fetches what no proxy has from its version control with the go "
       "command, \"off\" and entries after direct/off are ignored; default: what `go env GOPROXY` "
       "prints"},
      {"sumdb", KeyType::string, "",
       "checksum database every downloaded .mod and .zip is verified against before it is stored, "
       "in GOSUMDB syntax (\"off\", a name the go command knows, \"<key>\" or \"<key> <url>\"); "
       "default: what `go env GOSUMDB` prints; without a URL it is reached through the upstream "
       "proxies"},
      {"no_sumdb", KeyType::string, "",
       "module path patterns (GONOSUMDB syntax) not verified, and whose lookups through /sumdb/ "
       "are "
       "refused; default: what `go env GONOSUMDB` prints"},
      {"list_ttl", KeyType::duration, "60s",
       "how long list, @latest and version queries are cached"},
      {"memory_cache_bytes", KeyType::count, "67108864",
       "bytes of small stored files (.info, .mod, tiny zips) kept in memory with their response "
       "headers, so a hit costs no file system call; 0: off"},
      {"memory_cache_max_object", KeyType::count, "16384",
       "largest stored file kept in the memory cache, in bytes"},
      {"fetch_timeout", KeyType::duration, "10m", "upper bound for one upstream transfer"},
      {"connect_timeout", KeyType::duration, "10s",
       "connection timeout towards the upstream proxies and the S3 or GCS bucket or Azure "
       "container"},
      {"stall_timeout", KeyType::duration, "60s",
       "an upstream, S3, GCS or Azure transfer fails when no byte moves for this long (0: off)"},
      {"upstream_redirect_allow", KeyType::string, "",
       "comma-separated networks (CIDR, e.g. 10.20.0.0/16, fd00:1::/64) that an upstream's "
       "redirects may lead to although they are loopback, private, link-local or otherwise not "
       "global; without them, only the upstream's own origin may be such an address"},
      {"fetch_workers",
       KeyType::count,
       "16",
       "upstream fetches run at once (at least 1)",
       {},
       false,
       1},
      {"fetch_queue", KeyType::count, "1024",
       "fetches waiting for a worker before new misses get 503"},
      {"private_modules", KeyType::string, "",
       "module path patterns (GOPRIVATE syntax) always fetched direct with the go command: never "
       "sent to an upstream proxy nor looked up in the checksum database"},
      {"go_binary", KeyType::string, "go",
       "the go command run for direct fetches (a path, or a name looked up in PATH)"},
      {"direct_dir", KeyType::string, "",
       "stoa's own state for direct fetches: the go command's module cache (clones are reused), "
       "build cache, GOPATH, HOME and working directories; default: <data_dir>/.stoa-state/direct "
       "(a temporary directory with the memory store)"},
      {"direct_govcs", KeyType::string, "",
       "GOVCS for direct fetches: which version control systems may be used for which modules; "
       "default: the go command's own (git and hg for public modules, any for private_modules)"},
      {"direct_insecure", KeyType::string, "",
       "GOINSECURE for direct fetches: module path patterns that may be fetched over plain HTTP "
       "and without certificate checks"},
      {"direct_home", KeyType::string, "",
       "HOME of the go command and the git, hg, svn, bzr and fossil it runs (their ~/.netrc, "
       "~/.gitconfig, ~/.ssh); default: an empty directory under direct_dir"},
      {"direct_netrc", KeyType::string, "",
       "netrc file with credentials for direct fetches (the go command's NETRC, and linked as "
       "~/.netrc into the default direct_home for git); never logged"},
      {"direct_git_config", KeyType::string, "",
       "git configuration file for direct fetches (GIT_CONFIG_GLOBAL: insteadOf rewrites, "
       "credential helpers); the system configuration is never read"},
      {"direct_ssh_key", KeyType::string, "",
       "private key for git over ssh in direct fetches (the only identity offered; BatchMode)"},
      {"direct_ssh_known_hosts", KeyType::string, "",
       "the known_hosts file of git over ssh in direct fetches: host keys are checked strictly "
       "against it alone (a changed or unknown host key is refused, nothing is ever added); "
       "default: <direct_home>/.ssh/known_hosts"},
      {"direct_pass_env", KeyType::string, "",
       "comma-separated names of stoa's environment variables passed to the go command (e.g. "
       "HTTPS_PROXY,NO_PROXY); nothing else of stoa's environment is"},
      {"direct_timeout", KeyType::duration, "5m",
       "upper bound for one go command run; then its process group is killed"},
      {"direct_workers",
       KeyType::count,
       "4",
       "go commands that run at once (at least 1)",
       {},
       false,
       1},
      {"direct_negative_ttl", KeyType::duration, "30s",
       "how long \"does not exist\" from a direct fetch is remembered (failures never are)"},
      {"threads", KeyType::count, "0",
       "serving threads (0: one per core; they never wait for a bucket: with store = \"s3\", "
       "reads of the bucket run on the fetch workers)"},
      {"header_timeout", KeyType::duration, "10s",
       "time a client has to send a whole request header"},
      {"idle_timeout", KeyType::duration, "60s",
       "keep-alive connection idle time before it is closed"},
      {"write_timeout", KeyType::duration, "60s",
       "a response write with no progress for this long is dropped"},
      {"max_header_bytes", KeyType::count, "16384", "largest request header accepted"},
      {"shutdown_grace", KeyType::duration, "30s",
       "on SIGTERM, how long requests in progress (and their fetches) may take to finish"},
      {"validator_url", KeyType::string, "",
       "HTTP endpoint asked (POST, JSON) before a new module zip is stored: 200 allows, 403 "
       "denies; "
       "empty: no validator"},
      {"validator_timeout", KeyType::duration, "10s", "how long the validator may take to answer"},
      {"validator_failure",
       KeyType::choice,
       "deny",
       "when the validator cannot answer: deny (answer 503, store nothing) or allow (store anyway)",
       {"deny", "allow"}},
      {"lock",
       KeyType::choice,
       "none",
       "cross-replica lock taken before a missing file is fetched, so that replicas sharing one "
       "store fetch it once: none, redis (redis_url) or postgres (postgres_url)",
       {"none", "redis", "postgres"}},
      {"redis_url", KeyType::string, "",
       "Redis server of lock = redis: redis://[[user]:password@]host[:port][/db]"},
      {"postgres_url", KeyType::string, "",
       "PostgreSQL server of lock = postgres and index = postgres: a libpq URI "
       "(postgresql://user:password@host:port/db) or key=value string"},
      {"lock_lease", KeyType::duration, "10s",
       "lock = redis: how long a lock outlives a holder that died (renewed every third of it "
       "while held); with postgres a lock ends with its holder's session"},
      {"lock_wait", KeyType::duration, "",
       "how long a replica waits for another replica's lock on a file before fetching it anyway; "
       "default: fetch_timeout"},
      {"index",
       KeyType::choice,
       "sqlite",
       "index of stored versions, served at /index and /catalog: sqlite (a file in "
       "<data_dir>/.stoa-state/), postgres (postgres_url; for replicas) or none",
       {"sqlite", "postgres", "none"}},
      {"otlp_endpoint", KeyType::string, "",
       "OTLP/HTTP collector base URL for traces (spans go to <url>/v1/traces); empty: the standard "
       "OTEL_EXPORTER_OTLP_* environment variables decide, and without them tracing is off"},
      {"log_format", KeyType::choice, "text", "log line format", {"text", "json"}},
      {"log_level",
       KeyType::choice,
       "info",
       "least severe level logged",
       {"debug", "info", "warn", "error"}},
      {"access_log", KeyType::boolean, "true", "log one line per request"},
      {"rules_file", KeyType::string, "",
       "TOML file of policy rules ([[rule]] tables and [groups]), reloaded on SIGHUP and when it "
       "changes; empty: the [[rule]] tables of the configuration file itself"},
      {"users_file", KeyType::string, "",
       "htpasswd-style file of users allowed to read restricted modules (bcrypt only: "
       "htpasswd -B); reloaded with the rules; empty: none"},
      {"tokens_file", KeyType::string, "",
       "file of bearer tokens, one \"name sha256-hex-of-token\" per line; reloaded with the "
       "rules; empty: none"},
      {"auth_workers",
       KeyType::count,
       "2",
       "credential (bcrypt) checks run at once, on threads of their own apart from "
       "fetch_workers, so a flood of logins never delays misses (at least 1)",
       {},
       false,
       1},
      {"auth_queue", KeyType::count, "64",
       "credential checks waiting for an auth worker before new ones get 503"},
      {"auth_max_failures", KeyType::count, "10",
       "failed logins from one client address (IPv6: its /64) within auth_failure_window; "
       "beyond them its requests with credentials for restricted modules get 429, unchecked; "
       "0: no limit"},
      {"auth_failure_window", KeyType::duration, "1m",
       "the window of auth_max_failures (at least 1s)"},
      {"rules_check_interval", KeyType::duration, "2s",
       "how often the rules, users and tokens files are checked for changes (one stat each); "
       "0: only on SIGHUP"},
      {"vulndb_dir", KeyType::string, "",
       "directory of the mirrored Go vulnerability database served at /vulndb/ (filled by "
       "`stoa vulndb import`; a new snapshot is picked up every rules_check_interval and on "
       "SIGHUP); default: <data_dir>/.stoa-state/vulndb"},
      {"vulndb_source", KeyType::string, "",
       "base URL of a vulnerability database in its published layout (index/db.json.gz, ...) "
       "that /vulndb/ is synced from every vulndb_sync_interval, e.g. another stoa's "
       "https://stoa.example/vulndb; empty: no sync (stoa vulndb import only)"},
      {"vulndb_sync_interval", KeyType::duration, "1h",
       "how often vulndb_source is asked for a newer database (a conditional GET of "
       "index/db.json.gz; entries whose time did not change are not fetched again)"},
      {"operational_endpoints",
       KeyType::choice,
       "",
       "who may read /metrics, /index and /catalog on the main listener: public (anyone), "
       "authenticated (valid credentials of users_file or tokens_file) or admin (only on the "
       "admin listener; 404 on the main one); default: authenticated when users_file or "
       "tokens_file is set, else public",
       {"public", "authenticated", "admin"}},
      {"tls_cert", KeyType::string, "",
       "PEM certificate chain file; with tls_key, serve HTTPS instead of HTTP"},
      {"tls_key", KeyType::string, "", "PEM private key file of tls_cert"},
      {"path_prefix", KeyType::string, "",
       "serve the proxy under this path (e.g. /goproxy: GOPROXY=https://host/goproxy); "
       "/healthz and /readyz stay at the root"},
      {"ui", KeyType::boolean, "false",
       "serve web pages for people (home, search, module pages, client setup, status) at "
       "ui_path, and /version and /robots.txt; they list to each visitor what the protocol would "
       "serve it"},
      {"ui_path", KeyType::string, "/",
       "where the web pages live under path_prefix, e.g. / or /ui (module requests never clash: "
       "they name /@v/ or /@latest)"},
      {"external_url", KeyType::string, "",
       "the proxy's URL as clients reach it (scheme and host, e.g. https://proxy.example.com, "
       "behind a load balancer); the setup page adds path_prefix; default: the listen address"},
  };
  return table;
}

}  // namespace stoa::cli
