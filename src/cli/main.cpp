// fs — the Failed Star command line. Every subcommand lives in a cmd_*.cpp file; this file only dispatches and
// turns errors into one clear line on stderr and a non-zero exit.
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "util/error.h"

int main(int argc, char** argv) {
  CLI::App app{"Failed Star: a small LLM inference engine you can read"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every subcommand");
  fs::cli::add_run_commands(app);
  fs::cli::add_inspect_command(app);
  fs::cli::add_logits_commands(app);
  fs::cli::add_bench_command(app);
  fs::cli::add_tokenize_commands(app);
  fs::cli::add_template_command(app);
  fs::cli::add_serve_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const fs::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
