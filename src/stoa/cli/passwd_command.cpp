// stoa passwd: a users_file line for a password read from stdin.

#include <iostream>

#include "stoa/cli/commands.hpp"
#include "stoa/policy/auth.hpp"

namespace stoa::cli {

int passwd_command(const std::string& name) {
  std::string password;
  std::getline(std::cin, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty() || name.empty() || name.find(':') != std::string::npos) {
    std::cerr << "stoa passwd: need a name without ':' and a non-empty password on stdin\n";
    return 2;
  }
  const auto hash = policy::hash_password(password);
  if (!hash) {
    std::cerr << "stoa passwd: libcrypt could not make a bcrypt hash\n";
    return 1;
  }
  std::cout << name << ":" << *hash << "\n";
  return 0;
}

}  // namespace stoa::cli
