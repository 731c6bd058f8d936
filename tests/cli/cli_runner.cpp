#include "cli_runner.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs::test {

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

CliResult run_fs(const std::string& args, const std::string& stdin_text) {
  namespace stdfs = std::filesystem;
  static int counter = 0;
  const auto base = stdfs::temp_directory_path() / ("fs_cli_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  const std::string in = base.string() + ".in", out = base.string() + ".out", err = base.string() + ".err";
  std::ofstream(in, std::ios::binary) << stdin_text;
  const std::string cmd = shell_quote(FS_BINARY) + " " + args + " <" + in + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto slurp = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  r.out = slurp(out);
  r.err = slurp(err);
  stdfs::remove(in);
  stdfs::remove(out);
  stdfs::remove(err);
  return r;
}

}  // namespace fs::test
