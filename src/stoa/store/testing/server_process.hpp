#pragma once
// Tests only: the plumbing of the real servers the store tests start (versitygw,
// fake-gcs-server): finding the program, a free loopback port, starting it and waiting until it
// accepts connections, stopping it.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace stoa::store::testing {

// `name` through $<env_var>, then $PATH, then /usr/local/bin. Throws std::runtime_error naming
// scripts/install-deps.sh when it is nowhere: a test that needs it fails, it does not skip.
std::string find_program(const std::string& name, const char* env_var);

// A listening socket on 127.0.0.1 at a kernel-chosen port (written to *port). Throws.
int listen_loopback(std::uint16_t* port);
// A connected socket to 127.0.0.1:port, or -1.
int connect_loopback(std::uint16_t port);

// A port the kernel picked, released for a server to bind: another process could take it in
// between; spawn_server's readiness check then fails loudly rather than silently.
std::uint16_t pick_loopback_port();

// Starts `argv` (argv[0] the program) with stdout and stderr into `log`, killed when this
// process dies, and waits (`limit` at most) until it accepts connections on 127.0.0.1:port.
// Returns its pid. Throws std::runtime_error with the start of its log when it exits or never
// listens (it is killed then).
int spawn_server(std::vector<std::string> argv, const std::string& log, std::uint16_t port,
                 std::chrono::seconds limit = std::chrono::seconds(20));

// SIGTERM, then waits for it. pid <= 0: nothing.
void stop_server(int pid);

}  // namespace stoa::store::testing
