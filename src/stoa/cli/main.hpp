#pragma once

namespace stoa::cli {

// The stoa command: `stoa serve`, `stoa config`, `stoa version`. Returns the exit status.
int main(int argc, char** argv);

}  // namespace stoa::cli
