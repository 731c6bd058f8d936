// Each group of `fs` subcommands registers itself on the CLI11 app from its own file (cmd_*.cpp).
// Machine-readable output goes to stdout alone; progress, timings and logs go to stderr.
#pragma once
#include <CLI/CLI.hpp>

namespace fs::cli {

void add_inspect_command(CLI::App& app);    // inspect                                       (cmd_inspect.cpp)
void add_logits_commands(CLI::App& app);    // logits, generate                              (cmd_logits.cpp)
void add_run_commands(CLI::App& app);       // run, chat                                     (cmd_run.cpp)
void add_bench_command(CLI::App& app);      // bench                                         (cmd_bench.cpp)
void add_tokenize_commands(CLI::App& app);  // tokenize, detokenize                          (cmd_tokenize.cpp)
void add_template_command(CLI::App& app);   // template                                      (cmd_template.cpp)
void add_serve_command(CLI::App& app);      // serve                                         (cmd_serve.cpp)

}  // namespace fs::cli
