#include "stoa/cli/main.hpp"

int main(int argc, char** argv) { return stoa::cli::main(argc, argv); }
