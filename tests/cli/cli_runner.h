// Runs the built `fs` program and captures what it prints, for end-to-end tests of the command line.
#pragma once
#include <string>

namespace fs::test {

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// args is appended to the fs binary path as a shell command line (quote arguments yourself); stdin_text is fed
// to the program's standard input.
CliResult run_fs(const std::string& args, const std::string& stdin_text = "");
std::string shell_quote(const std::string& s);

}  // namespace fs::test
